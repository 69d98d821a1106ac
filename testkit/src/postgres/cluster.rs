//! A PostgreSQL cluster of a test's own, made with `initdb` in a temporary directory, which
//! the test may stop and start again (never the shared test server). Trust authentication
//! on loopback, durability off; removed when dropped.

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// A throwaway cluster on a free loopback port.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    /// The unprivileged user running the server when the tests run as root.
    owner: Option<String>,
    port: u16,
}

/// The folder of `initdb` and `pg_ctl`: on `PATH`, or the newest Debian layout.
fn bindir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|d| d.join("initdb").is_file())
            .collect();
        dirs.sort_by_key(|d| {
            d.parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str()?.parse::<u32>().ok())
        });
        dirs.pop()
    })
}

impl Cluster {
    /// `initdb` and start a cluster, or `None` after printing `SKIPPED: …` when PostgreSQL
    /// is not installed (with `TESSERA_REQUIRE_POSTGRES` set, that fails the test instead).
    pub async fn start(test: &str) -> Option<Self> {
        let Some(bindir) = bindir() else {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_POSTGRES").is_none(),
                "{test}: TESSERA_REQUIRE_POSTGRES is set but initdb is not installed"
            );
            eprintln!("SKIPPED: initdb not found ({test} needs PostgreSQL installed)");
            return None;
        };
        let uid = Command::new("id").arg("-u").output().await.expect("id -u");
        // initdb refuses to run as root: the server runs as `postgres` then
        let owner =
            (String::from_utf8_lossy(&uid.stdout).trim() == "0").then(|| "postgres".to_owned());
        let dir = tempfile::Builder::new()
            .prefix("tessera-pg-own.")
            .tempdir()
            .expect("a temporary directory");
        if let Some(o) = &owner {
            let chown = Command::new("chown")
                .arg(o)
                .arg(dir.path())
                .status()
                .await
                .unwrap();
            assert!(chown.success(), "chown the cluster directory to {o}");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Self {
            dir,
            bindir,
            owner,
            port,
        };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "tessera",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            .await;
        cluster.start_again().await;
        Some(cluster)
    }

    /// `postgres://tessera@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://tessera@127.0.0.1:{}/postgres", self.port)
    }

    /// Stop the server (`pg_ctl stop -m fast`: every session is ended at once).
    pub async fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "30", "stop"],
        )
        .await;
    }

    /// Start the (stopped) server again, on the same port.
    pub async fn start_again(&self) {
        let data = self.data();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c max_connections=100 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "30", "-o", &options, "start",
            ],
        )
        .await;
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Run a PostgreSQL program as the cluster's owner; panics with its output on failure.
    async fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bindir.join(program);
        let mut cmd = match &self.owner {
            Some(o) => {
                let mut c = Command::new("runuser");
                c.args(["-u", o, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .output()
            .await
            .expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bindir.join("pg_ctl");
        let mut cmd = match &self.owner {
            Some(o) => {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", o, "--"]).arg(&exe);
                c
            }
            None => std::process::Command::new(&exe),
        };
        // already stopped is fine; the directory goes with `dir`
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
