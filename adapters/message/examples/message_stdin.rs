//! A queue consumer in miniature: authenticate newline-delimited JSON messages read from
//! stdin with the tessera engine and print one `accept` or `reject` line per message.
//!
//! ```text
//! cargo run -p tessera-message --example message_stdin                # demo: in-memory profile
//! cargo run -p tessera-message --example message_stdin -- \
//!     --data-dir ./tessera-data [--backend redb|sled] [--require-signature] [--window 300]
//! ```
//!
//! With `--data-dir` it opens the server's store (stop the server first: the store admits
//! one process). Without it, it creates a demo profile in memory and prints two messages for
//! it on stderr: paste them, then paste the signed one again to see the replay refused.
//!
//! Output, one line per input line (blank lines are skipped):
//!
//! ```text
//! accept 1 profile=<uuid> type=<type> correlationId=<id> signed=true
//! reject 2 replayed_nonce: this nonce was already used
//! ```
#![allow(unreachable_pub)] // also mounted as a module by the tests, which call these items

use std::sync::Arc;

use serde_json::json;
use tessera_core::{Clock, Engine, KeyPair, MemoryStore, OsRandom, SystemClock};
use tessera_message::{MessageAuthenticator, MessagePolicy, canonical_bytes};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// What [`run`] counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Messages accepted.
    pub accepted: usize,
    /// Messages rejected.
    pub rejected: usize,
}

/// Authenticate every line of `input` and write the verdicts to `output`. This is the
/// whole embedding: one shared [`MessageAuthenticator`], one `authenticate` call per message.
pub async fn run<R, W>(
    auth: &MessageAuthenticator,
    input: R,
    mut output: W,
) -> std::io::Result<Summary>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut summary = Summary::default();
    let mut lines = input.lines();
    let mut n = 0usize;
    while let Some(line) = lines.next_line().await? {
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let verdict = match auth.authenticate(line.as_bytes()).await {
            Ok(m) => {
                summary.accepted += 1;
                format!(
                    "accept {n} profile={} type={} correlationId={} signed={}\n",
                    m.principal.profile_id, m.message_type, m.correlation_id, m.signed
                )
            }
            Err(e) => {
                summary.rejected += 1;
                format!("reject {n} {}: {e}\n", e.code())
            }
        };
        output.write_all(verdict.as_bytes()).await?;
        output.flush().await?;
    }
    Ok(summary)
}

/// Command-line options.
#[derive(Debug, Default)]
struct Options {
    data_dir: Option<std::path::PathBuf>,
    backend: Option<String>,
    require_signature: bool,
    window: Option<u64>,
}

fn options() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data-dir" => o.data_dir = Some(value()?.into()),
            "--backend" => o.backend = Some(value()?),
            "--require-signature" => o.require_signature = true,
            "--window" => o.window = Some(value()?.parse().map_err(|_| "--window: seconds")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// A demo profile in `engine`; prints a signed and an unsigned message for it on stderr.
async fn demo(engine: &Engine) -> Result<(), tessera_core::Error> {
    let pw = "velvet otter quasar lantern demo 7291";
    let id = engine.register_profile("demo", pw).await?.value;
    let login = engine.authenticate("demo", pw, None).await?;
    let me = engine.verify(login.token.expose()).await?;
    let keys = KeyPair::generate(&OsRandom);
    engine
        .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
        .await?;
    let message = |nonce: &str| {
        json!({
            "token": login.token.expose(),
            "type": "demo.hello",
            "correlationId": "c-1",
            "timestamp": engine.now().to_rfc3339(),
            "nonce": nonce,
            "payload": {"hello": "world"},
        })
    };
    let mut signed = message("demo-nonce-000000001");
    let bytes = canonical_bytes(&signed).map_err(|e| tessera_core::Error::Config(e.to_string()))?;
    signed["signature"] = hex::encode(keys.sign(&bytes)).into();
    eprintln!("demo profile {id}: paste these lines (then the first again: a replay)");
    eprintln!("{signed}");
    eprintln!("{}", message("demo-nonce-000000002"));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let store: Arc<dyn tessera_core::Store> = match &o.data_dir {
        Some(dir) => {
            // the server's layout: `<dir>` for redb, `<dir>/sled` for sled
            match o.backend.as_deref().unwrap_or("redb") {
                "redb" => Arc::new(tessera_storage_redb::RedbStore::open(dir)?),
                "sled" => Arc::new(tessera_storage_sled::SledStore::open(dir.join("sled"))?),
                other => return Err(format!("unknown backend {other}").into()),
            }
        }
        None => Arc::new(MemoryStore::new()),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(
        Engine::builder()
            .store(store)
            .clock(Arc::clone(&clock))
            .build()?,
    );
    if o.data_dir.is_none() {
        demo(&engine).await?;
    }
    let policy = MessagePolicy {
        require_signature: o.require_signature,
        window_secs: o.window.unwrap_or(MessagePolicy::default().window_secs),
        ..MessagePolicy::default()
    };
    let auth = MessageAuthenticator::new(engine, clock, policy);
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let summary = run(&auth, stdin, tokio::io::stdout()).await?;
    eprintln!(
        "{} accepted, {} rejected",
        summary.accepted, summary.rejected
    );
    Ok(())
}
