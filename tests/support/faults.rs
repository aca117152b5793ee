//! Faulty peers for tests: a proxy that drops the connection part way
//! through an answer, and a fake LDAP server that answers a search with
//! whatever bytes a test gives it.

#![allow(dead_code)]

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A proxy that forwards everything to the server but cuts the connection
/// after `limit` bytes of answers: a connection dropped in the middle of a
/// paged read. Returns the proxy's URL.
pub async fn cutting_proxy(upstream: u16, limit: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let up = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        let mut sent = 0;
        let mut buf = vec![0u8; 4096];
        while sent < limit {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(limit - sent),
            };
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            sent += n;
        }
        up.abort();
        // Dropping both halves closes the connection: mid-page, mid-message.
    });
    format!("ldap://127.0.0.1:{port}")
}

/// One BER TLV with a short or long length.
pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 128 {
        out.push(n as u8);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(body);
    out
}

/// Read one LDAP message: its id and the tag of its operation.
pub async fn read_message(s: &mut TcpStream) -> Option<(u8, u8)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.ok()?;
    let len = if head[1] < 128 {
        head[1] as usize
    } else {
        let mut l = vec![0u8; (head[1] & 0x7f) as usize];
        s.read_exact(&mut l).await.ok()?;
        l.iter().fold(0, |a, b| a * 256 + *b as usize)
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.ok()?;
    // 02 01 id <op tag>
    Some((body[2], body[3]))
}

/// A server that accepts a bind, then answers the first search with `answer(id)`.
pub async fn fake_server(answer: fn(u8) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        while let Some((id, op)) = read_message(&mut s).await {
            let reply = match op {
                // BindRequest -> BindResponse success
                0x60 => tlv(
                    0x30,
                    &[&[2, 1, id][..], &tlv(0x61, &[0x0a, 1, 0, 4, 0, 4, 0])].concat(),
                ),
                0x63 => answer(id),
                _ => break,
            };
            if s.write_all(&reply).await.is_err() {
                break;
            }
        }
    });
    format!("ldap://127.0.0.1:{port}")
}
