//! Fault injection: seeded random throttling, unavailability, slow answers and dropped
//! connections ([`Faults`]), drawn once per request by `dispatch` in mod.rs; and a fixed
//! latency on every call ([`Seed::latency_ms`]), with each logged call's start and end times.
use super::*;

tokio::task_local! {
    /// When the request being handled arrived (set around each dispatched request).
    pub(crate) static REQUEST_START: std::time::Instant;
}

/// Fault injection: each RPC/OSS request draws from one RNG seeded with `seed`, and is answered
/// with `Throttling.User` (HTTP 400) with probability `throttling`, `ServiceUnavailable` (503)
/// with `unavailable`, or handled after a `slow_ms` pause with `slow`, or handled and then has
/// its connection dropped mid-response (the client cannot tell whether it took effect) with
/// `drop`; otherwise it is handled normally. Rates are 0.0–1.0 and add up to at most 1.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    pub seed: u64,
    pub throttling: f64,
    pub unavailable: f64,
    pub slow: f64,
    pub slow_ms: u64,
    pub drop: f64,
}

impl Faults {
    pub fn any(&self) -> bool {
        self.throttling + self.unavailable + self.slow + self.drop > 0.0
    }
}

/// How many faults were injected, by kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FaultCounts {
    pub throttled: u64,
    pub unavailable: u64,
    pub slowed: u64,
    pub dropped: u64,
}

impl FaultCounts {
    /// Faults that make the client retry (all but slow responses).
    pub fn failures(&self) -> u64 {
        self.throttled + self.unavailable + self.dropped
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fault {
    Throttle,
    Unavailable,
    Slow(u64),
    Drop,
}

impl Seed {
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
}

impl Seed {
    /// A fixed latency on every Alibaba Cloud call. Inside a region a real OpenAPI call takes
    /// tens of milliseconds; the emulator otherwise answers in well under one.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }
}

impl Inner {
    /// Logs `call` with its start (the request's arrival) and end (now) times.
    pub(crate) fn record_call(&mut self, mut call: Call) {
        let since =
            |t: std::time::Instant| t.saturating_duration_since(self.epoch).as_micros() as u64;
        let now = std::time::Instant::now();
        call.started_us = since(REQUEST_START.try_with(|t| *t).unwrap_or(now));
        call.ended_us = since(now);
        self.state.calls.push(call);
    }

    /// The latency to add to the request now arriving.
    pub(crate) fn latency(&self) -> Option<std::time::Duration> {
        (self.latency_ms > 0).then(|| std::time::Duration::from_millis(self.latency_ms))
    }

    /// The fault for the next request, if any (one draw per request, in arrival order).
    pub(crate) fn draw_fault(&mut self) -> Option<Fault> {
        if !self.faults.any() {
            return None;
        }
        let x: f64 = self.fault_rng.gen();
        let f = &self.faults;
        let fault = if x < f.throttling {
            Fault::Throttle
        } else if x < f.throttling + f.unavailable {
            Fault::Unavailable
        } else if x < f.throttling + f.unavailable + f.slow {
            Fault::Slow(f.slow_ms)
        } else if x < f.throttling + f.unavailable + f.slow + f.drop {
            Fault::Drop
        } else {
            return None;
        };
        let c = &mut self.state.faults;
        match fault {
            Fault::Throttle => c.throttled += 1,
            Fault::Unavailable => c.unavailable += 1,
            Fault::Slow(_) => c.slowed += 1,
            Fault::Drop => c.dropped += 1,
        }
        Some(fault)
    }
}

pub(crate) async fn faults_handler(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            let mut inner = shared.lock();
            inner.fault_rng = rand::SeedableRng::seed_from_u64(f.seed);
            inner.faults = f;
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct LatencyBody {
    ms: u64,
}

/// `POST /__emulator/latency {"ms": 50}`: the latency of every call from now on.
pub(crate) async fn latency_handler(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<LatencyBody>(&body) {
        Ok(b) => {
            shared.lock().latency_ms = b.ms;
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

/// An injected throttling / unavailability answer, shaped like the product's errors.
pub(crate) fn injected_error(rpc: bool, status: u16, code: &str, message: &str) -> Response {
    let request_id = uuid_like();
    if rpc {
        rpc_error_response(&err(status, code, message), &request_id, "aliyuncs.com", "")
    } else {
        oss_error_response(
            &oss_err(status, code, message),
            &request_id,
            "",
            REGION,
            false,
        )
    }
}
