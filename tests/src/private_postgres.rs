//! A PostgreSQL server of one test's own (Debian's binaries, a data
//! directory under the temp dir, a free port), for fault tests that stop and
//! start the database: the shared server on 5432 is never touched. Streaming
//! replicas of one are made with `pg_basebackup -R` (`replica`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    server: Option<Child>,
    /// Extra `-c name=value` settings of this server.
    settings: Vec<String>,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new empty directory under the temp dir, owned by `postgres` when root.
fn server_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("cms-pg-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // The server refuses a data directory others may read.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if running_as_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown of {dir:?}");
    }
    dir
}

/// The newest installed server's binaries (`/usr/lib/postgresql/N/bin`).
fn server_binaries() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().expect("no PostgreSQL server binaries").1
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// `program` run as the `postgres` user when this process is root (the
/// server refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl PrivatePostgres {
    /// initdb into a new directory, then start the server on a free port.
    pub fn start() -> Self {
        let bin = server_binaries();
        let dir = server_dir();
        let out = as_postgres(&bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut postgres = PrivatePostgres {
            port: free_port(),
            dir,
            bin,
            server: None,
            settings: Vec::new(),
        };
        postgres.resume();
        postgres
    }

    /// A streaming replica of this server: `pg_basebackup -R -X stream -c
    /// fast` into a new directory, started on its own free port with
    /// `settings` (e.g. `recovery_min_apply_delay=2s`).
    pub fn replica(&self, settings: &[&str]) -> Self {
        let dir = server_dir();
        let out = as_postgres(&self.bin.join("pg_basebackup"))
            .args([
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
                "-h",
                "127.0.0.1",
            ])
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-D"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut replica = PrivatePostgres {
            port: free_port(),
            dir,
            bin: self.bin.clone(),
            server: None,
            settings: settings.iter().map(|&setting| setting.to_owned()).collect(),
        };
        replica.resume();
        replica
    }

    /// `role`'s URL of database `database` on this server.
    pub fn url(&self, role: &str, database: &str) -> String {
        format!(
            "postgres://{role}:{role}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// SIGKILL to the postmaster (a crash, not a shutdown): its sessions end
    /// when they notice, and a restart runs crash recovery.
    pub fn kill(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        if let Some(pid) = self.postmaster_pid() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = child.kill();
        let _ = child.wait();
        // The backends exit once they see the postmaster gone; a restart
        // waits for them (the data directory's shared memory is theirs).
        let deadline = Instant::now() + Duration::from_secs(10);
        while PgConnection::establish(&self.admin_url()).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn postmaster_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
    }

    /// The superuser's URL on this server.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on the same port and data, and waits until
    /// it takes connections. After a SIGKILL the old backends may still hold
    /// the shared memory for a moment: a start refused for that is retried.
    pub fn resume(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut child = self.spawn_server();
        while PgConnection::establish(&self.admin_url()).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private PostgreSQL on port {} did not start",
                self.port
            );
            if child.try_wait().ok().flatten().is_some() {
                std::thread::sleep(Duration::from_millis(200));
                child = self.spawn_server();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.server = Some(child);
    }

    fn spawn_server(&self) -> Child {
        as_postgres(&self.bin.join("postgres"))
            .arg("-D")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ])
            .args(
                self.settings
                    .iter()
                    .flat_map(|setting| ["-c", setting.as_str()]),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Fast shutdown (SIGINT to the postmaster: sessions are ended at once),
    /// and waits until it is gone.
    pub fn stop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        // The postmaster's own pid (under runuser it is not the child's).
        match self.postmaster_pid() {
            Some(pid) => {
                let _ = Command::new("kill").args(["-INT", &pid]).status();
            }
            None => {
                let _ = child.kill();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.wait();
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
