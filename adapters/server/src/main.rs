//! `tessera`: the identity server binary (`serve`, `admin create-api-key`, `admin create-user`,
//! `admin unlock`).

mod cli;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use tessera_core::Engine;
use tessera_http::server;
use tessera_http::{self as http, Metrics};
use tessera_server::config::FileConfig;
use tessera_server::store::{self, StoreConfig};

use cli::{AdminCommand, Cli, Command, ServeArgs, StoreArgs};

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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Admin(AdminCommand::CreateApiKey { store, name }) => {
                let engine = offline_engine(&store).await?;
                let key = engine
                    .create_api_key(&name)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{}", key.expose());
                eprintln!("API key {name:?} created; it is shown only this once.");
                Ok(())
            }
            Command::Admin(AdminCommand::CreateUser {
                store, username, ..
            }) => {
                let engine = offline_engine(&store).await?;
                admin_create_user(&engine, &username).await
            }
            Command::Admin(AdminCommand::Unlock { store, username }) => {
                let engine = offline_engine(&store).await?;
                engine.unlock(&username).await.map_err(|e| e.to_string())?;
                eprintln!("throttle of {username:?} cleared");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tessera failed");
            eprintln!("tessera: {e}");
            ExitCode::FAILURE
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

/// Where the store is: the flags (and their environment variables) over the config file.
fn store_config(args: &StoreArgs, file: &FileConfig) -> StoreConfig {
    let db = &file.database;
    StoreConfig {
        backend: args.backend,
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone().or_else(|| db.url.clone()),
        pool_size: args.database_pool_size.or(db.pool_size),
        connect_timeout: db
            .connect_timeout_secs
            .map(|s| Duration::from_secs(s.max(1))),
    }
}

/// An engine on the store with default settings, for the admin commands.
async fn offline_engine(args: &StoreArgs) -> Result<Engine, String> {
    let config = store_config(args, &FileConfig::default());
    let s = store::open(&config).await.map_err(|e| e.to_string())?;
    Engine::builder()
        .store(s)
        .build()
        .map_err(|e| e.to_string())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let mut engine_cfg = file.engine_config()?;
    if engine_cfg.allow_weak_hash_params {
        tracing::warn!(
            "allow_weak_hash_params is set: argon2 parameters may be below OWASP's. Tests only!"
        );
    }
    if file.public_url.is_none() {
        engine_cfg.public_url = format!("http://{}", args.listen);
    }
    let hash_workers = engine_cfg.hash_workers;
    let store_cfg = store_config(&args.store, &file);
    let store = store::open(&store_cfg).await.map_err(|e| e.to_string())?;
    let notifier = file.notify.settings(&args.notify).build()?;
    let mut builder = Engine::builder()
        .store(store)
        .config(engine_cfg)
        .notifier(notifier);
    if let Some(pepper) = file.pepper()? {
        builder = builder.pepper(pepper);
    }
    let engine = Arc::new(builder.build().map_err(|e| e.to_string())?);
    engine
        .health()
        .await
        .map_err(|e| format!("store check failed: {e:?}"))?;
    let purger = engine.spawn_purger(Duration::from_secs(60), 1000);

    let metrics = Arc::new(Metrics::default());
    let mut http_cfg = file.http_config();
    http_cfg.metrics_route = args.metrics_listen.is_none();
    if let Some(origins) = args.ws_allowed_origins {
        http_cfg.ws.allowed_origins = origins
            .into_iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
    }
    let app = http::router_with_metrics(Arc::clone(&engine), http_cfg, Arc::clone(&metrics));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics_task = match args.metrics_listen {
        Some(m) => {
            let l = tokio::net::TcpListener::bind(m)
                .await
                .map_err(|e| format!("cannot listen on {m}: {e}"))?;
            let maddr = l.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(address = %maddr, "metrics listening");
            println!("tessera metrics on http://{maddr}");
            let app = http::metrics_only(Arc::clone(&engine), metrics);
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(server::serve(
                l,
                app,
                file.server_config(),
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
    let result = server::serve(listener, app, file.server_config(), shutdown).await;
    drop(stop_rx);
    if let Some(t) = metrics_task {
        let _ = t.await;
    }
    purger.abort();
    tracing::info!("tessera stopped");
    result.map_err(|e| e.to_string())
}
