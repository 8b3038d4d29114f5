//! The opaque keyset cursor of `GET /v1/events`.

use super::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Page order by (`occurred_at`, `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first: the default.
    #[default]
    Desc,
    Asc,
}

impl Order {
    /// Parses `asc` or `desc`.
    pub fn parse(s: &str) -> Result<Order, ApiError> {
        match s {
            "desc" => Ok(Order::Desc),
            "asc" => Ok(Order::Asc),
            _ => Err(ApiError::invalid_query(format!(
                "order=`{}` is not asc or desc",
                s.chars().take(32).collect::<String>()
            ))
            .with_field("order")),
        }
    }
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Desc => "desc",
            Order::Asc => "asc",
        }
    }
}

/// Where the previous page stopped: the last row's key, and the order it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at_ms: i64,
    pub seq: u64,
    pub order: Order,
}

impl Cursor {
    /// The opaque form handed to clients.
    pub fn encode(&self) -> String {
        let o = if self.order == Order::Desc { 'd' } else { 'a' };
        URL_SAFE_NO_PAD.encode(format!("v1.{o}.{}.{}", self.occurred_at_ms, self.seq))
    }

    /// Reads a cursor back; anything this server did not issue is a clear 400.
    pub fn decode(s: &str, order: Order) -> Result<Cursor, ApiError> {
        let bad = || {
            ApiError::bad_request("cursor is not one this server issued; start again without it")
                .with_field("cursor")
        };
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.split('.');
        let (Some("v1"), Some(o), Some(ms), Some(seq), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let cursor_order = match o {
            "d" => Order::Desc,
            "a" => Order::Asc,
            _ => return Err(bad()),
        };
        if cursor_order != order {
            return Err(ApiError::bad_request(format!(
                "this cursor belongs to a page read in {} order, not {}",
                cursor_order.as_str(),
                order.as_str()
            ))
            .with_field("cursor"));
        }
        Ok(Cursor {
            occurred_at_ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
            order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_junk() {
        let c = Cursor {
            occurred_at_ms: 1_763_000_000_123,
            seq: 42,
            order: Order::Desc,
        };
        assert_eq!(Cursor::decode(&c.encode(), Order::Desc).unwrap(), c);
        assert!(Cursor::decode(&c.encode(), Order::Asc).is_err());
        assert!(Cursor::decode("garbage!", Order::Desc).is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1.d.x.1"), Order::Desc).is_err());
    }
}
