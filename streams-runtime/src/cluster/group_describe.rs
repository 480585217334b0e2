//! `ConsumerGroupDescribe` (Kafka API 69, KIP-848) spoken directly: librdkafka joins groups
//! of the new protocol (`group.protocol=consumer`) but `rdkafka` does not describe them, and
//! the classic `DescribeGroups` knows nothing of such a group's members. Interactive queries
//! need each member's client id (it carries the `application.server`) and its assignment.
//!
//! Two requests, each on a fresh connection: `FindCoordinator` v4 to a bootstrap server,
//! then `ConsumerGroupDescribe` v0 to the group's coordinator. Both versions are flexible
//! (compact strings and arrays, tagged fields); the request header is v2, the response
//! header v1. Plaintext listeners only: the caller falls back to naming no owner otherwise.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const FIND_COORDINATOR: i16 = 10;
const CONSUMER_GROUP_DESCRIBE: i16 = 69;

/// A member of a consumer group of the new protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) client_id: String,
    /// Its current assignment: topic and partition.
    pub(crate) partitions: Vec<(String, u32)>,
}

/// The members of `group`, asked of the brokers in `bootstrap` (`host:port,…`).
pub(crate) fn describe(bootstrap: &str, group: &str, timeout: Duration) -> Result<Vec<Member>, String> {
    let mut last = String::from("no bootstrap server");
    for server in bootstrap.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match coordinator(server, group, timeout) {
            Ok(coordinator) => {
                let response =
                    call(&coordinator, CONSUMER_GROUP_DESCRIBE, 0, &describe_request(group), timeout)?;
                return read_describe_response(&response, group);
            }
            Err(e) => last = format!("{server}: {e}"),
        }
    }
    Err(last)
}

fn coordinator(server: &str, group: &str, timeout: Duration) -> Result<String, String> {
    let mut body = Vec::new();
    body.push(0); // KeyType: group
    put_compact_array_len(&mut body, 1);
    put_compact_string(&mut body, group);
    body.push(0); // tagged fields
    let response = call(server, FIND_COORDINATOR, 4, &body, timeout)?;
    let mut r = Reader(&response);
    r.take(4)?; // throttle time
    if r.compact_array_len()? == 0 {
        return Err("FindCoordinator named no coordinator".into());
    }
    let _key = r.compact_string()?;
    let _node = r.take(4)?;
    let host = r.compact_string()?.unwrap_or_default();
    let port = r.int(4)?;
    let error = r.int(2)?;
    let message = r.compact_string()?;
    if error != 0 {
        return Err(format!("FindCoordinator error {error}: {}", message.unwrap_or_default()));
    }
    Ok(format!("{host}:{port}"))
}

fn describe_request(group: &str) -> Vec<u8> {
    let mut body = Vec::new();
    put_compact_array_len(&mut body, 1);
    put_compact_string(&mut body, group);
    body.push(0); // IncludeAuthorizedOperations: false
    body.push(0); // tagged fields
    body
}

fn read_describe_response(response: &[u8], group: &str) -> Result<Vec<Member>, String> {
    let mut r = Reader(response);
    r.take(4)?; // throttle time
    let mut members = Vec::new();
    for _ in 0..r.compact_array_len()? {
        let error = r.int(2)?;
        let message = r.compact_string()?;
        let id = r.compact_string()?.unwrap_or_default();
        if error != 0 {
            return Err(format!(
                "ConsumerGroupDescribe of `{id}`: error {error} {}",
                message.unwrap_or_default()
            ));
        }
        r.compact_string()?; // state
        r.take(8)?; // group epoch, assignment epoch
        r.compact_string()?; // assignor
        for _ in 0..r.compact_array_len()? {
            r.compact_string()?; // member id
            r.compact_string()?; // instance id
            r.compact_string()?; // rack id
            r.take(4)?; // member epoch
            let client_id = r.compact_string()?.unwrap_or_default();
            r.compact_string()?; // client host
            for _ in 0..r.compact_array_len()? {
                r.compact_string()?; // subscribed topic
            }
            r.compact_string()?; // subscribed regex
            let partitions = r.assignment()?;
            r.assignment()?; // target assignment
            r.skip_tagged_fields()?;
            if id == group {
                members.push(Member { client_id, partitions });
            }
        }
        r.take(4)?; // authorized operations
        r.skip_tagged_fields()?;
    }
    Ok(members)
}

/// Sends one request (header v2) and returns the response's body (after header v1).
fn call(server: &str, api: i16, version: i16, body: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let addr = server
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {server}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {server}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{server}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    const CORRELATION: i32 = 1;
    let client_id = b"streams-group-describe";
    let mut request = Vec::with_capacity(body.len() + 40);
    request.extend_from_slice(&[0; 4]); // size, set below
    request.extend_from_slice(&api.to_be_bytes());
    request.extend_from_slice(&version.to_be_bytes());
    request.extend_from_slice(&CORRELATION.to_be_bytes());
    request.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    request.extend_from_slice(client_id);
    request.push(0); // header tagged fields
    request.extend_from_slice(body);
    let size = (request.len() - 4) as i32;
    request[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&request).map_err(|e| format!("{server}: {e}"))?;
    let mut size = [0; 4];
    stream.read_exact(&mut size).map_err(|e| format!("{server}: {e}"))?;
    let size = i32::from_be_bytes(size);
    if !(4..=64 << 20).contains(&size) {
        return Err(format!("{server}: a response of {size} bytes"));
    }
    let mut response = vec![0; size as usize];
    stream.read_exact(&mut response).map_err(|e| format!("{server}: {e}"))?;
    let mut r = Reader(&response);
    if r.int(4)? != i64::from(CORRELATION) {
        return Err(format!("{server}: a response to another request"));
    }
    r.skip_tagged_fields()?;
    Ok(r.0.to_vec())
}

fn put_uvarint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_compact_array_len(out: &mut Vec<u8>, n: usize) {
    put_uvarint(out, n as u64 + 1);
}

fn put_compact_string(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64 + 1);
    out.extend_from_slice(s.as_bytes());
}

/// Reads a response; running short is an error (a broker speaking another version).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("a response shorter than its fields".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn int(&mut self, n: usize) -> Result<i64, String> {
        let bytes = self.take(n)?;
        let first = i64::from(bytes[0] as i8);
        Ok(bytes[1..].iter().fold(first, |acc, &b| (acc << 8) | i64::from(b)))
    }

    fn uvarint(&mut self) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err("a varint longer than 64 bits".into())
    }

    /// A compact array's length (`None`, a null array, reads as 0).
    fn compact_array_len(&mut self) -> Result<usize, String> {
        Ok(self.uvarint()?.saturating_sub(1) as usize)
    }

    fn compact_string(&mut self) -> Result<Option<String>, String> {
        match self.uvarint()? {
            0 => Ok(None),
            n => Ok(Some(String::from_utf8_lossy(self.take(n as usize - 1)?).into_owned())),
        }
    }

    fn skip_tagged_fields(&mut self) -> Result<(), String> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?; // tag
            let len = self.uvarint()? as usize;
            self.take(len)?;
        }
        Ok(())
    }

    /// An `Assignment`: its topic partitions (topic id, name, partitions), tagged fields.
    fn assignment(&mut self) -> Result<Vec<(String, u32)>, String> {
        let mut out = Vec::new();
        for _ in 0..self.compact_array_len()? {
            self.take(16)?; // topic id
            let topic = self.compact_string()?.unwrap_or_default();
            for _ in 0..self.compact_array_len()? {
                out.push((topic.clone(), self.int(4)? as u32));
            }
            self.skip_tagged_fields()?;
        }
        self.skip_tagged_fields()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(out: &mut Vec<u8>, topics: &[(&str, &[i32])]) {
        put_compact_array_len(out, topics.len());
        for (topic, partitions) in topics {
            out.extend_from_slice(&[7; 16]);
            put_compact_string(out, topic);
            put_compact_array_len(out, partitions.len());
            for p in *partitions {
                out.extend_from_slice(&p.to_be_bytes());
            }
            out.push(0);
        }
        out.push(0);
    }

    #[test]
    fn a_consumer_group_describe_response_is_read() {
        let mut b = Vec::new();
        b.extend_from_slice(&0i32.to_be_bytes());
        put_compact_array_len(&mut b, 1);
        b.extend_from_slice(&0i16.to_be_bytes());
        b.push(0); // null message
        put_compact_string(&mut b, "app");
        put_compact_string(&mut b, "Stable");
        b.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 5]);
        put_compact_string(&mut b, "range");
        put_compact_array_len(&mut b, 2);
        for (client, parts) in [("a@h:1", &[0, 2][..]), ("b", &[1][..])] {
            put_compact_string(&mut b, "member");
            b.push(0); // null instance id
            b.push(0); // null rack
            b.extend_from_slice(&5i32.to_be_bytes());
            put_compact_string(&mut b, client);
            put_compact_string(&mut b, "/127.0.0.1");
            put_compact_array_len(&mut b, 1);
            put_compact_string(&mut b, "in");
            b.push(0); // null regex
            assignment(&mut b, &[("in", parts)]);
            assignment(&mut b, &[]);
            b.extend_from_slice(&[1, 9, 1, 42]); // one unknown tagged field
        }
        b.extend_from_slice(&i32::MIN.to_be_bytes());
        b.push(0);
        let members = read_describe_response(&b, "app").unwrap();
        assert_eq!(
            members,
            [
                Member { client_id: "a@h:1".into(), partitions: vec![("in".into(), 0), ("in".into(), 2)] },
                Member { client_id: "b".into(), partitions: vec![("in".into(), 1)] },
            ]
        );
        assert!(read_describe_response(&b[..b.len() - 3], "app").is_err());
    }
}
