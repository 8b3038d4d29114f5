//! The real binary in a pseudo-terminal: a tmux server of our own per test (unique socket),
//! killed however the test ends.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `trailscope ARGS` at 120×32, with `env` before it and its config, state and cache
    /// in `dir`; when it exits the shell prints `EXIT=<code>` and stays a minute to be read.
    pub fn start(dir: &Path, args: &str, env: &str) -> Tmux {
        Tmux::start_in(dir, args, env, None)
    }

    /// [`Tmux::start`] with the program's working directory at `cwd` (where relative paths,
    /// such as a download's default file name, land).
    pub fn start_in(dir: &Path, args: &str, env: &str, cwd: Option<&Path>) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tmux = Tmux {
            socket: format!("trailscope-e2e-{}-{n}", std::process::id()),
        };
        let script = format!(
            "env TRAILSCOPE_CONFIG={d}/config.toml XDG_STATE_HOME={d} XDG_CONFIG_HOME={d} XDG_CACHE_HOME={d}/cache TERM=xterm-256color {env} {bin} {args}; echo EXIT=$?; sleep 60",
            d = dir.display(),
            bin = env!("CARGO_BIN_EXE_trailscope"),
        );
        let mut session = vec!["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "32"];
        let cwd = cwd.map(|c| c.display().to_string());
        if let Some(c) = &cwd {
            session.extend(["-c", c.as_str()]);
        }
        session.push(&script);
        let out = tmux.cmd(&session);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", "e2e", k]);
        }
    }

    /// Polls the screen until `pred` holds, failing with the last screen after `secs`; blocks
    /// the thread (for tests whose server is another process).
    pub fn wait(&self, secs: u64, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`Tmux::wait`] for 20 s without blocking the runtime (the server may run in this test).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_up_to(20, what, pred).await
    }

    /// [`Tmux::wait_for`] with a longer limit, for the demo's trail in a debug build on a busy machine.
    pub async fn wait_up_to(&self, secs: u64, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
