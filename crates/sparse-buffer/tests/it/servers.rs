//! Real servers on loopback for the object-store tests: nginx (HTTP with ranges, an access log to count
//! requests) and moto (S3). Each test starts its own on a free port and stops it when dropped.
//!
//! `cargo xtask servers` (run by `cargo xtask ci` before the tests) installs them; a missing one fails the test
//! with that pointer. Shared by the test suites of sparse-buffer, roxxel-format and mapbuffer (`#[path]`).
#![allow(dead_code)] // Each suite that includes this file uses part of it.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::http::HttpBuilder;
use object_store::{ClientOptions, RetryConfig};
use object_store::{ObjectStore, ObjectStoreExt};

const HOW_TO_INSTALL: &str =
    "run `cargo xtask servers` (which `cargo xtask ci` runs before the tests)";

/// The runtime every blocking call of a test binary runs on: one multi-thread runtime for the whole binary, so
/// that a store's pooled connections always belong to a runtime that is running (a connection opened on one
/// runtime cannot be read from another).
pub(crate) fn runtime() -> sparse_buffer::BlockingRuntime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime")
    });
    sparse_buffer::BlockingRuntime::handle(runtime.handle().clone())
}

/// Stores `bytes` as the object `path` of `store`, blocking until it is there (call it outside async code, or
/// await `store.put` there).
pub(crate) fn put(store: &Arc<dyn ObjectStore>, path: &str, bytes: Vec<u8>) {
    runtime()
        .block_on(store.put(&object_store::path::Path::from(path), bytes.into()))
        .expect("not inside a runtime")
        .expect("put");
}

/// The workspace's `target/remote`, where `cargo xtask servers` puts moto.
fn remote_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/remote")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// Starts a server on a free port, retrying on another port when it exits early (the port was taken between
/// `free_port` and its bind, e.g. by a server of a test running in parallel).
fn spawn_listening(what: &str, mut spawn: impl FnMut(u16) -> Child) -> (Child, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut child = spawn(port);
        if wait_for_port(port, &mut child, what) {
            // Still running once the port answers: the port is its own, not another server's.
            std::thread::sleep(Duration::from_millis(50));
            if matches!(child.try_wait(), Ok(None)) {
                return (child, port);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{what} could not listen on a free loopback port in 5 attempts");
}

/// Whether the port answers before the child exits.
fn wait_for_port(port: u16, child: &mut Child, what: &str) -> bool {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not listen on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// No retries: a failed request must fail the test, and request counts must be exact.
fn client_options() -> ClientOptions {
    ClientOptions::new().with_allow_http(true)
}

fn no_retries() -> RetryConfig {
    RetryConfig {
        max_retries: 0,
        ..RetryConfig::default()
    }
}

/// nginx serving `root()` on a free port, logging every request.
pub(crate) struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    pub(crate) fn start() -> Self {
        let binary = std::env::var_os("BYTESHELF_NGINX")
            .map_or_else(|| PathBuf::from("/usr/sbin/nginx"), PathBuf::from);
        assert!(
            binary.is_file(),
            "nginx is missing at {} (or set BYTESHELF_NGINX): {HOW_TO_INSTALL}",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let www = dir.path().join("www");
        fs::create_dir(&www).expect("www dir");
        let d = dir.path().display();
        let conf_path = dir.path().join("nginx.conf");
        let (child, port) = spawn_listening("nginx", |port| {
            let conf = format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n  log_format counts '$request_method $uri $http_range $status $body_bytes_sent';\n  \
                 access_log {d}/access.log counts;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                 server {{ listen 127.0.0.1:{port}; root {}; }}\n}}\n",
                www.display()
            );
            fs::write(&conf_path, conf).expect("write nginx.conf");
            Command::new(&binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()))
        });
        Self { child, dir, port }
    }

    /// The directory served at `/`.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// object_store's HTTP store for this server.
    pub(crate) fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            HttpBuilder::new()
                .with_url(self.url())
                .with_client_options(client_options())
                .with_retry(no_retries())
                .build()
                .expect("HTTP store"),
        )
    }

    /// The access log: one `METHOD URI RANGE STATUS BYTES` line per request so far.
    pub(crate) fn requests(&self) -> Vec<String> {
        // nginx writes a request's log line after it has sent the response, so a client can see the response
        // before the line exists: answer once the log has stayed the same for 50 ms (at most 2 s).
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut lines = self.logged_lines();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.logged_lines();
            if now.len() == lines.len() || Instant::now() > deadline {
                return now;
            }
            lines = now;
        }
    }

    fn logged_lines(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many requests have been logged so far (once the log has settled, as [`Nginx::requests`]).
    pub(crate) fn request_count(&self) -> usize {
        self.requests().len()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's S3 server on a free port, with one bucket.
pub(crate) struct Moto {
    child: Child,
    port: u16,
    pub(crate) bucket: String,
}

impl Moto {
    pub(crate) fn start() -> Self {
        let binary = std::env::var_os("BYTESHELF_MOTO_SERVER")
            .map_or_else(|| remote_dir().join("venv/bin/moto_server"), PathBuf::from);
        assert!(
            binary.is_file(),
            "moto_server is missing at {} (or set BYTESHELF_MOTO_SERVER): {HOW_TO_INSTALL}",
            binary.display()
        );
        let (child, port) = spawn_listening("moto_server", |port| {
            Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()))
        });
        let moto = Self {
            child,
            port,
            bucket: "byteshelf".to_owned(),
        };
        moto.create_bucket();
        moto
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto accepts unsigned requests: a bare `PUT /bucket` creates it.
    fn create_bucket(&self) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "PUT /{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.bucket, self.port
        )
        .expect("send create-bucket");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read create-bucket answer");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "moto refused to create the bucket: {answer}"
        );
    }

    /// object_store's S3 store for this server's bucket.
    pub(crate) fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(self.endpoint())
                .with_bucket_name(&self.bucket)
                .with_region("us-east-1")
                .with_access_key_id("testing")
                .with_secret_access_key("testing")
                .with_allow_http(true)
                .with_retry(no_retries())
                .build()
                .expect("S3 store"),
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
