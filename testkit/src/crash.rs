//! SIGKILL crash harness, shared by the durable backends.
//!
//! One test function plays both roles. Run normally, it is the *parent*: for each cycle it
//! re-executes the current test binary filtered to itself with [`CHILD_ENV`] set to the data
//! directory; the *child* opens the store and runs engine operations in a loop (register,
//! authenticate, register a key, revoke, change password), printing a `B …` line before
//! and an acknowledgement line after each one, flushed at once. The parent kills the child
//! with SIGKILL at a random moment, reopens the store and checks that:
//!
//! - every acknowledged write is present (I1): registered profiles, issued tokens, and
//!   revocations (acknowledged revocations stay revoked, T9), and the command record of
//!   every acknowledged command (register, key, revoke, password change), which the store
//!   writes in the change's own transaction;
//! - nothing is half-applied (I2): a username index entry always has its profile, a stored
//!   token always resolves to its profile, a password change either fully happened (new
//!   hash and the other tokens gone) or not at all.
//!
//! Each cycle uses fresh usernames in the same directory, so the store grows across cycles
//! and every earlier cycle's facts are re-checked after every later crash.
//!
//! ```text
//! #[test]
//! fn crash_sigkill() {
//!     tessera_testkit::crash::run("crash_sigkill", |dir| {
//!         MyStore::open(dir).map(|s| Arc::new(s) as Arc<dyn Store>)
//!     });
//! }
//! ```

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tessera_core::clock::SystemClock;
use tessera_core::engine::{Engine, EngineConfig, RevokeScope};
use tessera_core::hasher::{Argon2Hasher, HashParams};
use tessera_core::key::KeyPair;
use tessera_core::password::Password;
use tessera_core::random::{self, OsRandom};
use tessera_core::store::{Store, StoreResult};
use tessera_core::token::{TokenDigest, TokenKind, Ttl};

/// Environment variable naming the data directory in a child process.
pub const CHILD_ENV: &str = "TESSERA_CRASH_CHILD_DIR";
/// Environment variable overriding the number of cycles (default 50).
pub const CYCLES_ENV: &str = "TESSERA_CRASH_CYCLES";

/// What a parent run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrashReport {
    /// Kill-and-reopen cycles run.
    pub cycles: usize,
    /// Acknowledged operations checked after the last cycle.
    pub acknowledged: usize,
}

fn password(n: u32) -> String {
    format!("crash test passphrase {n} zebra quokka")
}

fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::builder()
        .store(store)
        .clock(Arc::new(SystemClock))
        .config(EngineConfig {
            hash_params: HashParams::INSECURE_FOR_TESTS,
            allow_weak_hash_params: true,
            hash_workers: 1,
            ..EngineConfig::default()
        })
        .build()
        .expect("crash engine")
}

/// Run the crash test: the parent role, or the child role when [`CHILD_ENV`] is set.
/// `test_name` is the name of the calling test function (the child runs only it).
/// Panics with a description on the first violated invariant.
pub fn run<F>(test_name: &str, open: F) -> CrashReport
where
    F: Fn(&Path) -> StoreResult<Arc<dyn Store>>,
{
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir), &open);
    }
    let cycles = std::env::var(CYCLES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    parent(test_name, cycles, &open)
}

fn child<F>(dir: &Path, open: &F) -> !
where
    F: Fn(&Path) -> StoreResult<Arc<dyn Store>>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = open(dir).expect("child: open store");
        let e = engine(store);
        let tag = hex::encode(random::bytes::<4>(&OsRandom));
        let mut out = std::io::stdout().lock();
        let mut say = |line: String| {
            writeln!(out, "{line}").expect("stdout");
            out.flush().expect("stdout");
        };
        // libtest may have printed "test name ... " without a newline: start a fresh line.
        say("\nREADY".into());
        // per user: (name, current password number, live tokens)
        let mut users: Vec<(String, u32, Vec<String>)> = Vec::new();
        for i in 0u32.. {
            let pick = random::bytes::<1>(&OsRandom)[0] as usize;
            match i % 4 {
                0 => {
                    let name = format!("c{tag}u{i}");
                    say(format!("B R {name}"));
                    let done = e
                        .register_profile(&name, &password(0))
                        .await
                        .expect("register");
                    say(format!("R {name} {}", done.command.id));
                    let t = e
                        .authenticate(&name, &password(0), Some(Ttl::DAY))
                        .await
                        .expect("auth");
                    let tok = t.token.expose().to_owned();
                    say(format!("T {name} {tok}"));
                    let p = e.verify(&tok).await.expect("verify");
                    let kp = KeyPair::generate(&OsRandom);
                    say(format!("B K {name}"));
                    let done = e
                        .register_public_key(&p, &kp.public().to_raw_hex(), &kp.prove(p.profile_id))
                        .await
                        .expect("key");
                    say(format!("K {name} {}", done.command.id));
                    users.push((name, 0, vec![tok]));
                }
                1 if !users.is_empty() => {
                    let n = users.len();
                    let u = &mut users[pick % n];
                    let t = e
                        .authenticate(&u.0, &password(u.1), Some(Ttl::DAY))
                        .await
                        .expect("auth");
                    let tok = t.token.expose().to_owned();
                    say(format!("T {} {tok}", u.0));
                    u.2.push(tok);
                }
                2 if !users.is_empty() => {
                    let n = users.len();
                    let u = &mut users[pick % n];
                    if u.2.len() > 1 {
                        let tok = u.2.remove(0);
                        let p = e.verify(&tok).await.expect("verify");
                        say(format!("B X {tok}"));
                        let done = e.revoke(&p, RevokeScope::Token).await.expect("revoke");
                        say(format!("X {tok} {}", done.command.id));
                    }
                }
                3 if !users.is_empty() => {
                    let n = users.len();
                    let u = &mut users[pick % n];
                    let keep = u.2.last().cloned().expect("a token");
                    let p = e.verify(&keep).await.expect("verify");
                    let next = u.1 + 1;
                    say(format!("B P {} {next} {keep}", u.0));
                    let done = e
                        .change_password(&p, &password(u.1), &password(next))
                        .await
                        .expect("change");
                    say(format!("P {} {next} {keep} {}", u.0, done.command.id));
                    u.1 = next;
                    u.2 = vec![keep];
                }
                _ => {}
            }
        }
    });
    std::process::exit(0)
}

fn parent<F>(test_name: &str, cycles: usize, open: &F) -> CrashReport
where
    F: Fn(&Path) -> StoreResult<Arc<dyn Store>>,
{
    let exe = std::env::current_exe().expect("current exe");
    let dir = tempdir();
    let mut log = Vec::new();
    let mut report = CrashReport::default();
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line == "READY" {
                    let _ = tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("child output");
            panic!(
                "cycle {cycle}: child never became ready: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let delay = 20 + u64::from(u16::from_le_bytes(random::bytes::<2>(&OsRandom)) % 480);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL child"); // std's kill is SIGKILL on Unix
        let status = child.wait().expect("wait child");
        let lines = reader.join().expect("reader");
        assert!(
            !status.success(),
            "cycle {cycle}: the child exited by itself: {lines:?}"
        );
        log.extend(lines.into_iter().skip_while(|l| l != "READY").skip(1));
        report.acknowledged = check(&dir, open, &log, cycle);
        report.cycles += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "crash: {} cycles, {} acknowledged operations verified",
        report.cycles, report.acknowledged
    );
    report
}

fn tempdir() -> PathBuf {
    let mut p = std::env::temp_dir();
    p.push(format!(
        "tessera-crash-{}",
        hex::encode(random::bytes::<8>(&OsRandom))
    ));
    std::fs::create_dir_all(&p).expect("temp dir");
    p
}

/// What the log says must hold.
#[derive(Default)]
struct Expect {
    /// username → (acknowledged password, in-flight password)
    users: HashMap<String, (u32, Option<u32>)>,
    /// names whose registration started but was not acknowledged
    maybe_users: HashSet<String>,
    /// token → owner
    tokens: HashMap<String, String>,
    /// tokens that must be revoked
    revoked: HashSet<String>,
    /// tokens an unacknowledged operation may have revoked
    maybe_revoked: HashSet<String>,
    /// command ids of acknowledged commands (register, key, revoke, password change)
    commands: Vec<String>,
    acknowledged: usize,
}

fn expectations(log: &[String]) -> Expect {
    let mut x = Expect::default();
    let mut pending: Option<Vec<String>> = None;
    for line in log {
        let f: Vec<String> = line.split(' ').map(str::to_owned).collect();
        match f[0].as_str() {
            "B" => {
                if let Some(p) = pending.take() {
                    unacknowledged(&mut x, &p);
                }
                pending = Some(f[1..].to_vec());
                continue;
            }
            "R" => {
                x.users.insert(f[1].clone(), (0, None));
            }
            "T" => {
                x.tokens.insert(f[2].clone(), f[1].clone());
            }
            "X" => {
                x.revoked.insert(f[1].clone());
            }
            "P" => {
                let n: u32 = f[2].parse().expect("number");
                x.users.insert(f[1].clone(), (n, None));
                for (tok, owner) in &x.tokens {
                    if owner == &f[1] && tok != &f[3] {
                        x.revoked.insert(tok.clone());
                    }
                }
            }
            _ => {}
        }
        if matches!(f[0].as_str(), "R" | "K" | "X" | "P") {
            x.commands.push(f.last().expect("a command id").clone());
        }
        x.acknowledged += 1;
        pending = None;
    }
    if let Some(p) = pending {
        unacknowledged(&mut x, &p);
    }
    x
}

/// An operation that began but was not acknowledged: either outcome is allowed.
fn unacknowledged(x: &mut Expect, op: &[String]) {
    match op[0].as_str() {
        "R" => {
            x.maybe_users.insert(op[1].clone());
        }
        "X" => {
            x.maybe_revoked.insert(op[1].clone());
        }
        "P" => {
            let n: u32 = op[2].parse().expect("number");
            if let Some(u) = x.users.get_mut(&op[1]) {
                u.1 = Some(n);
            }
            for (tok, owner) in &x.tokens {
                if owner == &op[1] && tok != &op[3] {
                    x.maybe_revoked.insert(tok.clone());
                }
            }
        }
        _ => {}
    }
}

fn check<F>(dir: &Path, open: &F, log: &[String], cycle: usize) -> usize
where
    F: Fn(&Path) -> StoreResult<Arc<dyn Store>>,
{
    let x = expectations(log);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = open(dir).unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
        let hasher = Argon2Hasher::new(HashParams::INSECURE_FOR_TESTS, None).expect("hasher");
        for (name, (acked, in_flight)) in &x.users {
            let p = store
                .get_profile_by_username(name)
                .await
                .expect("read")
                .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged user {name} lost"));
            let by_id = store.get_profile(p.id).await.expect("read");
            assert_eq!(
                by_id.as_ref(),
                Some(&p),
                "cycle {cycle}: index and profile disagree"
            );
            let phc = p.password_hash.clone().expect("hash");
            let ok =
                |n: u32| hasher.verify(&Password::for_login(&password(n), 128).expect("pw"), &phc);
            assert!(
                ok(*acked) || in_flight.is_some_and(ok),
                "cycle {cycle}: {name}: neither the acknowledged nor the in-flight password matches"
            );
        }
        for name in &x.maybe_users {
            if let Some(p) = store.get_profile_by_username(name).await.expect("read") {
                let by_id = store.get_profile(p.id).await.expect("read");
                assert_eq!(
                    by_id.as_ref(),
                    Some(&p),
                    "cycle {cycle}: half-created profile {name}"
                );
            }
        }
        for (tok, owner) in &x.tokens {
            let d = TokenDigest::of_token(TokenKind::Authorization, tok).expect("token");
            let raw = store.get_token(&d).await.expect("read");
            let resolved = store.resolve_token(&d).await.expect("read");
            assert_eq!(
                raw.is_some(),
                resolved.is_some(),
                "cycle {cycle}: a token without its profile"
            );
            if x.revoked.contains(tok) {
                assert!(
                    resolved.is_none(),
                    "cycle {cycle}: acknowledged revocation of {owner}'s token lost"
                );
            } else if !x.maybe_revoked.contains(tok) {
                let p = resolved
                    .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged token of {owner} lost"));
                let prof = store
                    .get_profile(p.profile_id)
                    .await
                    .expect("read")
                    .expect("profile");
                assert_eq!(
                    &prof.username, owner,
                    "cycle {cycle}: token resolves to the wrong profile"
                );
            }
        }
        // every acknowledged command has its record, beside its change (checked above)
        for id in &x.commands {
            let id = uuid::Uuid::parse_str(id).expect("command id");
            assert!(
                store.get_command(id).await.expect("read").is_some(),
                "cycle {cycle}: the record of acknowledged command {id} lost"
            );
        }
        // a password change is all or nothing: if the new password is in, the other tokens are out
        for (name, (_, in_flight)) in &x.users {
            let Some(n) = in_flight else { continue };
            let p = store
                .get_profile_by_username(name)
                .await
                .expect("read")
                .expect("profile");
            let applied = hasher.verify(
                &Password::for_login(&password(*n), 128).expect("pw"),
                p.password_hash.as_deref().expect("hash"),
            );
            for (tok, owner) in &x.tokens {
                if owner != name || !x.maybe_revoked.contains(tok) || x.revoked.contains(tok) {
                    continue;
                }
                let d = TokenDigest::of_token(TokenKind::Authorization, tok).expect("token");
                let alive = store.resolve_token(&d).await.expect("read").is_some();
                assert_eq!(
                    alive, !applied,
                    "cycle {cycle}: password change of {name} half-applied"
                );
            }
        }
    });
    x.acknowledged
}
