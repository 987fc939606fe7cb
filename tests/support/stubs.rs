//! Loopback servers that misbehave on purpose: one that never answers, one
//! that answers every request the same way (401, an HTML page), and a
//! proxy that delays every request to a real server.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A background server, stopped when dropped.
pub struct Stub {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Stub {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen() -> Result<(TcpListener, SocketAddr), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((listener, addr))
}

/// A loopback address nothing listens on (connections are refused).
pub async fn closed_port() -> Result<SocketAddr, String> {
    let (listener, addr) = listen().await?;
    drop(listener);
    Ok(addr)
}

/// Accepts connections and reads requests, never answering.
pub async fn silent() -> Result<Stub, String> {
    let (listener, addr) = listen().await?;
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(tokio::spawn(async move {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
            }));
        }
    });
    Ok(Stub { addr, task })
}

/// Reads one HTTP/1 request (head and `Content-Length` body).
async fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                let n = conn.read(&mut buf).await.ok()?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            return Some(data);
        }
    }
}

/// Answers every request with `status`, `content_type` and `body`.
pub async fn fixed(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> Result<Stub, String> {
    let (listener, addr) = listen().await?;
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                while read_request(&mut conn).await.is_some() {
                    let head = format!(
                        "HTTP/1.1 {status} Stub\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if conn.write_all(head.as_bytes()).await.is_err()
                        || conn.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(Stub { addr, task })
}

/// Forwards every request to `upstream` (a real server) after `delay`.
pub async fn delaying_proxy(upstream: SocketAddr, delay: Duration) -> Result<Stub, String> {
    let (listener, addr) = listen().await?;
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                // One request per connection: the forwarded answer says
                // `Connection: close`, so the client opens a new one.
                let Some(request) = read_request(&mut conn).await else {
                    return;
                };
                tokio::time::sleep(delay).await;
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                if up.write_all(&force_close(&request)).await.is_err() {
                    return;
                }
                let mut response = Vec::new();
                if up.read_to_end(&mut response).await.is_ok() {
                    let _ = conn.write_all(&response).await;
                }
            });
        }
    });
    Ok(Stub { addr, task })
}

/// The request with `Connection: close`, so the upstream ends its answer.
fn force_close(request: &[u8]) -> Vec<u8> {
    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return request.to_vec();
    };
    let head = String::from_utf8_lossy(&request[..end]);
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&request[end..]);
    out
}
