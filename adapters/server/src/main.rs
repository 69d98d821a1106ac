//! `tessera`: the identity server binary (`serve`, `admin create-api-key`,
//! `admin list-api-keys`, `admin revoke-api-key`, `admin create-user`, `admin unlock`).

mod cli;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use tessera_core::{Engine, Store};
use tessera_http::server;
use tessera_http::{self as http, Metrics};
use tessera_server::settings::{CommonArgs, Resolved, Settings};
use tessera_server::store::{self, OpenError};

use cli::{AdminCommand, Cli, Command, ServeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        // Once, on stderr (not also as a log event: both go to stderr).
        Err(e) => {
            eprintln!("tessera: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Admin(AdminCommand::CreateApiKey { common, name }) => {
            let (engine, _) = offline_engine(&common).await?;
            let key = engine
                .create_api_key(&name)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", key.expose());
            eprintln!("API key {name:?} created; it is shown only this once.");
            Ok(())
        }
        Command::Admin(AdminCommand::ListApiKeys { common }) => {
            let (engine, _) = offline_engine(&common).await?;
            let keys = engine.list_api_keys().await.map_err(|e| e.to_string())?;
            for k in &keys {
                println!("{}\t{}", k.created_at, k.name);
            }
            if keys.is_empty() {
                eprintln!("no API keys");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::RevokeApiKey { common, name }) => {
            let (engine, _) = offline_engine(&common).await?;
            engine.revoke_api_key(&name).await.map_err(|e| match e {
                tessera_core::Error::NotFound => {
                    format!("no API key named {name:?}: nothing was changed")
                }
                e => e.to_string(),
            })?;
            eprintln!("API key {name:?} revoked; it is refused from now on.");
            Ok(())
        }
        Command::Admin(AdminCommand::CreateUser {
            common, username, ..
        }) => {
            let (engine, _) = offline_engine(&common).await?;
            admin_create_user(&engine, &username).await
        }
        Command::Admin(AdminCommand::Unlock { common, username }) => {
            let (engine, store) = offline_engine(&common).await?;
            tessera_server::admin::unlock(&engine, store.as_ref(), &username).await?;
            eprintln!("throttle of {username:?} cleared");
            Ok(())
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// `tessera admin create-user`: the generated password (if any) alone on stdout, once.
async fn admin_create_user(engine: &Engine, username: &str) -> Result<(), String> {
    let source = tessera_server::admin::PasswordSource::detect();
    let created = tessera_server::admin::create_user(engine, username, source).await?;
    if let Some(password) = &created.generated {
        println!("{}", password.as_str());
        eprintln!("temporary password generated; it is shown only this once.");
    }
    eprintln!(
        "user {username:?} created (profile {}); its first /v1/login answers NEW_PASSWORD_REQUIRED.",
        created.profile_id
    );
    Ok(())
}

/// An engine for the admin commands: the store and the engine policy (pepper, argon2, …)
/// of the same settings as `serve`, so that what it writes is what the server reads.
async fn offline_engine(common: &CommonArgs) -> Result<(Engine, Arc<dyn Store>), String> {
    let settings = Settings::load(common.config.as_deref(), common).map_err(|e| e.to_string())?;
    let resolved = settings.resolve(None).map_err(|e| e.to_string())?;
    let store_cfg = settings
        .database
        .store_config(common.backend, &common.data_dir);
    let s = store::open(&store_cfg).await.map_err(|e| match e {
        OpenError::InUse(m) => format!(
            "{m}; stop the server first ({} allows one process; with --backend postgres the \
             admin commands run beside the servers)",
            store_cfg.backend.as_str()
        ),
        e => e.to_string(),
    })?;
    let engine = engine(Arc::clone(&s), resolved)?;
    Ok((engine, s))
}

/// The engine on `store` with the resolved policy and pepper.
fn engine(store: Arc<dyn Store>, r: Resolved) -> Result<Engine, String> {
    let mut builder = Engine::builder().store(store).config(r.engine);
    if let Some(pepper) = r.pepper {
        builder = builder.pepper(pepper);
    }
    builder.build().map_err(|e| e.to_string())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let settings =
        Settings::load(args.common.config.as_deref(), &args).map_err(|e| e.to_string())?;
    // Bind first: the default `public_url` is the address actually bound (with
    // `--listen 127.0.0.1:0`, the port the kernel chose), not the literal flag.
    let listener = bind(&args.listen).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let resolved = settings
        .resolve(Some(&addr.to_string()))
        .map_err(|e| e.to_string())?;
    if resolved.engine.allow_weak_hash_params {
        tracing::warn!(
            "allow_weak_hash_params is set: argon2 parameters may be below OWASP's. Tests only!"
        );
    }
    let hash_workers = resolved.engine.hash_workers;
    let store_cfg = settings
        .database
        .store_config(args.common.backend, &args.common.data_dir);
    let store = store::open(&store_cfg).await.map_err(|e| e.to_string())?;
    let notifier = resolved.notify.build()?;
    let mut http_cfg = resolved.http.clone();
    http_cfg.metrics_route = args.metrics_listen.is_none();
    let server_cfg = resolved.server.clone();
    let mut builder = Engine::builder()
        .store(store)
        .config(resolved.engine)
        .notifier(notifier);
    if let Some(pepper) = resolved.pepper {
        builder = builder.pepper(pepper);
    }
    let engine = Arc::new(builder.build().map_err(|e| e.to_string())?);
    engine
        .health()
        .await
        .map_err(|e| format!("store check failed: {e}"))?;
    let purger = engine.spawn_purger(Duration::from_secs(60), 1000);

    let metrics = Arc::new(Metrics::default());
    let app = http::app_with_metrics(Arc::clone(&engine), http_cfg, Arc::clone(&metrics));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics_task = match &args.metrics_listen {
        Some(m) => {
            let l = bind(m).await?;
            let maddr = l.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(address = %maddr, "metrics listening");
            println!("tessera metrics on http://{maddr}");
            let app = http::metrics_only(Arc::clone(&engine), metrics);
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(server::serve(
                l,
                app,
                server_cfg.clone(),
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    tracing::info!(address = %addr, backend = store_cfg.backend.as_str(), store = %store_cfg.location(), hash_workers, "tessera listening");
    // One line on stdout for scripts and tests that start the server on port 0.
    println!("tessera listening on http://{addr}");
    let shutdown = async move {
        server::shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let result = server::serve(listener, app, server_cfg, shutdown).await;
    drop(stop_rx);
    if let Some(t) = metrics_task {
        let _ = t.await;
    }
    purger.abort();
    tracing::info!("tessera stopped");
    result.map_err(|e| e.to_string())
}

/// Listen on `address` (`IP:PORT`, or `HOST:PORT` resolved here: the first of its
/// addresses that binds).
async fn bind(address: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))
}
