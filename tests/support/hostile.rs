//! Loopback metrics endpoints that are broken or hostile on purpose, for the
//! scraper's limits: each is a plain tokio `TcpListener` speaking just enough
//! HTTP/1.1, counting the requests it receives, with every loop bounded.
//! Large bodies are streamed in small pieces, never built whole.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Most connections any of these servers accepts.
const MAX_CONNECTIONS: usize = 500;

/// A background server, stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    /// Requests received so far.
    pub requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Server {
    /// `http://addr/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request as read: its path, or `None` when the client went away.
async fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 2048];
    // A request head is small; 64 KiB without its end is not a request.
    while data.len() < 64 << 10 {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            return Some(path);
        }
    }
    None
}

/// What a handler gets: the connection (after the request head) and the path.
pub type Handler = Arc<
    dyn Fn(TcpStream, String) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Serves every request on its own connection with `handler` (which writes
/// the whole answer; the connection is closed after it).
pub async fn serve_on(ip: &str, handler: Handler) -> Result<Server, String> {
    let listener = TcpListener::bind((ip, 0))
        .await
        .map_err(|e| format!("bind {ip}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let task = tokio::spawn(async move {
        for _ in 0..MAX_CONNECTIONS {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let handler = Arc::clone(&handler);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                if let Some(path) = read_head(&mut conn).await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    handler(conn, path).await;
                }
            });
        }
    });
    Ok(Server {
        addr,
        requests,
        task,
    })
}

/// [`serve_on`] 127.0.0.1.
pub async fn serve(handler: Handler) -> Result<Server, String> {
    serve_on("127.0.0.1", handler).await
}

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(TcpStream, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Arc::new(move |conn, path| Box::pin(f(conn, path)))
}

/// A complete answer with `Content-Length`.
pub async fn respond(conn: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if conn.write_all(head.as_bytes()).await.is_ok() {
        let _ = conn.write_all(body).await;
    }
    let _ = conn.shutdown().await;
}

/// Metrics text for every request: `body(n)` for the n-th request (from 0).
pub async fn text(
    body: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Result<Server, String> {
    let body = Arc::new(body);
    let seen = Arc::new(AtomicUsize::new(0));
    serve(handler(move |mut conn, _| {
        let body = Arc::clone(&body);
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            let text = body(n);
            respond(
                &mut conn,
                "200 OK",
                &[("Content-Type", "text/plain; version=0.0.4")],
                text.as_bytes(),
            )
            .await;
        }
    }))
    .await
}

/// Trickles one byte per second (at most `max_secs` bytes): the body after
/// headers sent at once, or, with `slow_head`, the status line and headers too.
pub async fn slowloris(max_secs: usize, slow_head: bool) -> Result<Server, String> {
    serve(handler(move |mut conn, _| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";
        let mut trickle: Vec<u8> = Vec::new();
        if slow_head {
            trickle.extend_from_slice(head.as_bytes());
        } else if conn.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        trickle.extend(std::iter::repeat_n(b'#', max_secs));
        for byte in trickle.into_iter().take(max_secs) {
            if conn.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
    .await
}

/// Streams `total` bytes of comment lines (or until the client goes away),
/// with `Content-Length` when `declare` is set, else delimited by closing.
pub async fn huge(total: u64, declare: bool) -> Result<Server, String> {
    serve(handler(move |mut conn, _| async move {
        let mut head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n".to_string();
        if declare {
            head.push_str(&format!("Content-Length: {total}\r\n"));
        }
        head.push_str("\r\n");
        if conn.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let line = b"# padding padding padding padding padding padding padding padding\n";
        let piece: Vec<u8> = line.iter().copied().cycle().take(64 << 10).collect();
        let mut sent = 0u64;
        while sent < total {
            let n = (total - sent).min(piece.len() as u64) as usize;
            if conn.write_all(&piece[..n]).await.is_err() {
                return;
            }
            sent += n as u64;
        }
        let _ = conn.shutdown().await;
    }))
    .await
}

/// A chunked body that never ends (at most `max_chunks` 16 KiB chunks).
pub async fn endless_chunked(max_chunks: usize) -> Result<Server, String> {
    serve(handler(move |mut conn, _| async move {
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
        if conn.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let data = b"# more\n".repeat(16 << 10 >> 3);
        let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
        chunk.extend_from_slice(&data);
        chunk.extend_from_slice(b"\r\n");
        for _ in 0..max_chunks {
            if conn.write_all(&chunk).await.is_err() {
                return;
            }
        }
    }))
    .await
}

/// `count` distinct series (`hostile_series{i="<n>"} 1`), streamed in pieces.
pub async fn many_series(count: usize) -> Result<Server, String> {
    serve(handler(move |mut conn, _| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\n";
        if conn
            .write_all(format!("{head}# TYPE hostile_series gauge\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
        let mut piece = String::with_capacity(1 << 20);
        let mut i = 0;
        while i < count {
            piece.clear();
            let end = (i + 20_000).min(count);
            for n in i..end {
                piece.push_str("hostile_series{i=\"");
                piece.push_str(&n.to_string());
                piece.push_str("\"} 1\n");
            }
            i = end;
            if conn.write_all(piece.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = conn.shutdown().await;
    }))
    .await
}

/// Redirects every request to `location` with `status` (301, 302, ...).
pub async fn redirect(status: &'static str, location: String) -> Result<Server, String> {
    let location = Arc::new(location);
    serve(handler(move |mut conn, _| {
        let location = Arc::clone(&location);
        async move {
            respond(&mut conn, status, &[("Location", location.as_str())], b"").await;
        }
    }))
    .await
}

/// Redirects `/metrics` to `/real` on itself and serves `body` there.
pub async fn redirect_same_host(body: &'static str) -> Result<Server, String> {
    serve(handler(move |mut conn, path| async move {
        if path == "/real" {
            respond(
                &mut conn,
                "200 OK",
                &[("Content-Type", "text/plain")],
                body.as_bytes(),
            )
            .await;
        } else {
            respond(
                &mut conn,
                "301 Moved Permanently",
                &[("Location", "/real")],
                b"",
            )
            .await;
        }
    }))
    .await
}

/// Redirects every path to a new path on itself, forever.
pub async fn redirect_loop() -> Result<Server, String> {
    let hops = Arc::new(AtomicUsize::new(0));
    serve(handler(move |mut conn, _| {
        let n = hops.fetch_add(1, Ordering::SeqCst);
        async move {
            let location = format!("/hop{n}");
            respond(&mut conn, "302 Found", &[("Location", &location)], b"").await;
        }
    }))
    .await
}

/// Answers `body` (a gzip stream, e.g. from [`gzip_bomb`]) with
/// `Content-Encoding: gzip`, whatever the request asked for.
pub async fn gzip(body: Arc<Vec<u8>>) -> Result<Server, String> {
    serve(handler(move |mut conn, _| {
        let body = Arc::clone(&body);
        async move {
            respond(
                &mut conn,
                "200 OK",
                &[
                    ("Content-Type", "text/plain; version=0.0.4"),
                    ("Content-Encoding", "gzip"),
                ],
                &body,
            )
            .await;
        }
    }))
    .await
}

/// Deflate's bit order: values LSB first, Huffman codes MSB first.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        for i in 0..len {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// CRC-32 (IEEE) of `pattern` repeated to `len` bytes.
fn crc32_repeated(pattern: &[u8], len: usize) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = !0u32;
    for &b in pattern.iter().cycle().take(len) {
        crc = table[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// A valid gzip member that inflates to `"# x\n"` repeated: 4 literals, then
/// `matches` copies of 258 bytes from 4 back (fixed Huffman codes). Returns
/// the compressed body and its inflated size.
pub fn gzip_bomb(matches: usize) -> (Vec<u8>, usize) {
    let pattern = b"# x\n";
    let inflated = pattern.len() + matches * 258;
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman
    for &b in pattern {
        bits.code(0x30 + b as u32, 8); // literals 0..=143: 8 bits from 0x30
    }
    for _ in 0..matches {
        bits.code(0xC0 + (285 - 280), 8); // length 258
        bits.code(3, 5); // distance 4
    }
    bits.code(0, 7); // end of block
    let mut out = bits.finish();
    out.extend_from_slice(&crc32_repeated(pattern, inflated).to_le_bytes());
    out.extend_from_slice(&(inflated as u32).to_le_bytes());
    (out, inflated)
}
