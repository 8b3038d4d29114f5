//! A throwaway PostgreSQL cluster for the tests: one per test binary, a fresh database per test.
//!
//! The cluster is `initdb`'d into a temporary folder and run by `postgres` on a free loopback
//! port (its unix socket stays in that folder). PostgreSQL refuses to run as root, so under root
//! (CI) the binaries run as the unprivileged `nobody`, which owns the folder. The cluster lives as
//! long as the test process: a small shell wrapper holds `postgres` and reads our end of a pipe;
//! when the test process exits (however it exits, a `OnceLock` is never dropped) the pipe closes,
//! and the wrapper stops the server and removes the folder.
//!
//! Missing binaries: the tests say how to install them and skip, or, with `CI=true`, fail.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The cluster's superuser (made by `initdb -U`); tests connect as it and the store drops to
/// its application role itself.
pub const SUPERUSER: &str = "trailscope_test";

/// A running cluster.
pub struct PgCluster {
    pub port: u16,
    /// Where `initdb`, `psql` … live.
    pub bin: PathBuf,
    /// The cluster's folder (data directory `data`, log `log`, unix socket).
    pub dir: PathBuf,
    /// Who runs PostgreSQL (`nobody` under root).
    user: Option<(u32, u32)>,
    /// `fsync` and friends: `on` or `off`.
    sync: &'static str,
    /// Kept so the wrapper's stdin stays open until the process exits.
    _wrapper: Child,
}

static CLUSTER: OnceLock<Option<PgCluster>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The shared cluster, started on first use; `None` (after saying how to get PostgreSQL) when
/// its binaries are not installed and this is not CI.
pub fn cluster() -> Option<&'static PgCluster> {
    CLUSTER
        .get_or_init(|| match find_bin() {
            Some(bin) => Some(start(bin, false)),
            None => {
                let how = "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found on PATH \
                     or in /usr/lib/postgresql/*/bin. Install them: `apt-get install postgresql` on \
                     Debian/Ubuntu (it includes pg_trgm), `brew install postgresql@16` on macOS.";
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{how} CI=true, so the PostgreSQL tests fail instead of skipping.");
                }
                eprintln!("SKIPPING the PostgreSQL tests: {how}");
                None
            }
        })
        .as_ref()
}

/// `initdb`'s folder: the first of PATH and /usr/lib/postgresql/<newest>/bin that has it.
fn find_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.extend(versions.into_iter().rev());
    // Where initdb really lives: a PATH entry may be a symlink to it, without the tools beside it.
    dirs.into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
        .and_then(|d| d.join("initdb").canonicalize().ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// The uid and gid to run PostgreSQL as: ours, or `nobody`'s when we are root.
fn run_as() -> Option<(u32, u32)> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse::<u32>().ok())?;
    if uid != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let nobody = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("running as root needs the user nobody to run PostgreSQL as");
    let f: Vec<&str> = nobody.split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A cluster of its own (benchmarks): `durable` keeps PostgreSQL's fsync on, as in production.
pub fn start_cluster(durable: bool) -> Option<PgCluster> {
    find_bin().map(|bin| start(bin, durable))
}

fn start(bin: PathBuf, durable: bool) -> PgCluster {
    let user = run_as();
    // Not a TempDir: the wrapper removes it after the server stopped, when we are gone.
    let dir = tempfile::Builder::new()
        .prefix("trailscope-pg-")
        .tempdir()
        .unwrap()
        .keep();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    }
    let data = dir.join("data");
    let out = as_user(&mut Command::new(bin.join("initdb")), user)
        .args(["-D", data.to_str().unwrap(), "-U", SUPERUSER])
        .args(["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-N"])
        .output()
        .expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The port is free when picked but not held: if something takes it before PostgreSQL
    // binds it, start again on another.
    for _ in 0..5 {
        let _ = std::fs::remove_file(dir.join("log"));
        let port = free_port();
        // fsync off for the tests: they kill servers, never the machine; it saves most of their I/O.
        let script = r#"
"$PGBIN/postgres" -D "$PGDIR/data" -p "$PGPORT" -k "$PGDIR" -c listen_addresses=127.0.0.1 \
  -c fsync=$PGSYNC -c full_page_writes=$PGSYNC -c synchronous_commit=$PGSYNC -c max_connections=400 \
  -c shared_buffers=128MB >"$PGDIR/log" 2>&1 &
pid=$!
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$PGDIR"
"#;
        let wrapper = as_user(&mut Command::new("sh"), user)
            .args(["-c", script])
            .env("PGBIN", &bin)
            .env("PGDIR", &dir)
            .env("PGPORT", port.to_string())
            .env("PGSYNC", if durable { "on" } else { "off" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the cluster's wrapper starts");
        let mut cluster = PgCluster {
            port,
            bin: bin.clone(),
            dir: dir.clone(),
            user,
            sync: if durable { "on" } else { "off" },
            _wrapper: wrapper,
        };
        if cluster.wait_ready(&dir) {
            return cluster;
        }
        // SIGKILL, so the wrapper dies before its `rm -rf` of the data directory, kept for the
        // next try; the log goes, so the next try's is read.
        let _ = cluster._wrapper.kill();
        let _ = cluster._wrapper.wait();
        let _ = std::fs::remove_file(dir.join("log"));
    }
    panic!("PostgreSQL could not bind a free loopback port in 5 tries")
}

impl PgCluster {
    /// Polls `pg_isready` until the server takes connections (never a fixed sleep); false when
    /// the server could not bind its port.
    fn wait_ready(&mut self, dir: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            let log = || std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            if ok {
                return true;
            }
            if log().contains("could not create any TCP/IP sockets") {
                return false;
            }
            if let Ok(Some(status)) = self._wrapper.try_wait() {
                panic!(
                    "PostgreSQL stopped while starting ({status}): {}",
                    std::fs::read_to_string(dir.join("log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not accept connections within 60 s: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server as an operator would (`pg_ctl stop -m fast`: clients are disconnected),
    /// waiting until it is down. [`PgCluster::start_again`] brings it back on the same port.
    pub fn stop(&self) {
        let out = as_user(&mut Command::new(self.bin.join("pg_ctl")), self.user)
            .args(["stop", "-m", "fast", "-w", "-t", "60", "-D"])
            .arg(self.dir.join("data"))
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the stopped server again on the same port with the same settings, returning once
    /// it takes connections (`pg_ctl start -w`). Its log is appended to the cluster's `log`.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={s} -c full_page_writes={s} \
             -c synchronous_commit={s} -c max_connections=400 -c shared_buffers=128MB",
            self.port,
            self.dir.display(),
            s = self.sync
        );
        let out = as_user(&mut Command::new(self.bin.join("pg_ctl")), self.user)
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options])
            // pg_ctl's child keeps these open: do not let it hold our pipes.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(
            out.success(),
            "pg_ctl start failed: {}",
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
        self.wait_accepting();
    }

    /// Polls `pg_isready` until the server takes connections again (60 s at most).
    fn wait_accepting(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not accept connections again within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A URL for database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL through `psql` on database `db`, failing the test on an error; returns its output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let (ok, out) = self.try_psql(db, sql);
        assert!(ok, "psql failed on {sql:?}: {out}");
        out
    }

    /// Runs SQL through `psql`; (whether it succeeded, stdout and stderr).
    pub fn try_psql(&self, db: &str, sql: &str) -> (bool, String) {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", db, "-c", sql])
            .output()
            .expect("psql runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }
}

impl Drop for PgCluster {
    /// A cluster of its own may have been restarted by [`PgCluster::start_again`], outside the
    /// wrapper: stop whatever postmaster runs on the data directory before the wrapper removes it.
    fn drop(&mut self) {
        let _ = as_user(&mut Command::new(self.bin.join("pg_ctl")), self.user)
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The database name in a URL made by [`PgCluster::fresh_database`].
pub fn db_name(url: &str) -> &str {
    url.rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .unwrap_or("")
}

/// A token for `tenant` with `role` in the database at `url`; returns its secret. Synchronous
/// (tests call it outside async code): a thread of its own with a blocking client.
pub fn create_token(url: &str, role: trailscope::store::Role, tenant: &str) -> String {
    let (new, secret) = trailscope::store::NewToken::generate(role, tenant, None);
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.execute(
            "INSERT INTO tokens (id, secret_hash, role, tenant, name, created_at) VALUES ($1, $2, $3, $4, NULL, $5)",
            &[
                &trailscope::store::new_token_id(),
                &new.secret_hash,
                &new.role.as_str(),
                &new.tenant,
                &chrono::Utc::now().timestamp_millis(),
            ],
        )
        .unwrap();
    })
    .join()
    .unwrap();
    secret
}
