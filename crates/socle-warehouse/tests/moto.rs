//! A local S3 server for the tests: Python `moto` in server mode (`pip install "moto[server]"`,
//! which `.ci/run` does), started on a free loopback port and stopped when dropped. Conditional
//! writes (`If-None-Match: *`, `If-Match`) are honoured by moto 5.2 on PutObject, which is what
//! Delta commits and the run lock lease use.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// Starts the server and waits until it answers. Fails (never skips) when moto is missing.
    pub fn start() -> Result<Moto, Box<dyn std::error::Error>> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("python3 -m moto.server: {e} (pip install \"moto[server]\")"))?;
        let mut moto = Moto { child, port };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto exited at once ({status}): pip install \"moto[server]\"").into());
            }
            if moto.request("GET", "/", &[]).is_ok_and(|r| r.starts_with("HTTP/1.")) {
                return Ok(moto);
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("moto did not start within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts unsigned bucket creation).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), Box<dyn std::error::Error>> {
        let response = self.request("PUT", &format!("/{bucket}"), &[])?;
        if !response.starts_with("HTTP/1.1 200") && !response.starts_with("HTTP/1.0 200") {
            return Err(format!("creating bucket {bucket}: {}", response.lines().next().unwrap_or("")).into());
        }
        Ok(())
    }

    /// Puts an object (a dummy `Authorization` header: moto does not check signatures).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
        let response = self.request("PUT", &format!("/{bucket}/{key}"), body)?;
        if !response.starts_with("HTTP/1.1 200") && !response.starts_with("HTTP/1.0 200") {
            return Err(format!("putting {key}: {}", response.lines().next().unwrap_or("")).into());
        }
        Ok(())
    }

    /// The keys under `prefix` (a ListObjectsV2, first 1000).
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let response = self.request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), &[])?;
        Ok(response
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect())
    }

    /// The options that point a warehouse at this server.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("aws_endpoint", self.endpoint()),
            ("aws_allow_http", "true".to_string()),
            ("aws_access_key_id", "test".to_string()),
            ("aws_secret_access_key", "test".to_string()),
            ("aws_region", "us-east-1".to_string()),
        ]
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
