//! The real `tessera` binary in black-box tests: a `serve` command on a free loopback
//! port, start-up (read the address it prints) and a graceful stop.
#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// `tessera serve --listen 127.0.0.1:0 --config <config>`, stdout piped (for the listening
/// line), killed on drop. The caller adds the backend, data directory, environment and
/// stderr.
pub fn serve(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A running `tessera serve`.
pub struct Served {
    /// The server process.
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Served {
    /// Spawn `cmd` (see [`serve`]) and read the address it prints first. `log` is the
    /// server's stderr file, if any: shown when the server exits before listening.
    pub async fn start(mut cmd: Command, log: Option<&Path>) -> Self {
        let mut child = cmd.spawn().expect("start tessera");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("tessera did not start in time")
            .unwrap()
            .unwrap_or_else(|| {
                let log = log.map(std::fs::read_to_string);
                panic!("tessera exited before listening: {log:?}")
            });
        let base = line
            .strip_prefix("tessera listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    /// SIGTERM, then wait for a clean exit (status 0).
    pub async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("tessera did not stop on SIGTERM")
            .unwrap();
        assert!(exit.success(), "graceful shutdown exits 0: {exit}");
    }
}
