//! The environment's lock: one per environment, held in AWS so that runners on different
//! machines exclude each other. It is one S3 object, `slipway/locks/<env>.json` in the
//! environment's `deploy.lock_bucket`, written with conditions (as Terraform's S3 lockfile):
//!
//! - taken with `If-None-Match: *` (only if nobody holds it);
//! - renewed by a heartbeat, and released, with `If-Match: <etag>` (only if it is still ours);
//! - it records who holds it (actor, run URL, host, command, plan fingerprint), since when, and
//!   a lease: a holder that dies without releasing (killed with -9) leaves a lock whose lease
//!   runs out, and the next run takes it over (again with `If-Match`, so two runs cannot both
//!   take over the same stale lock) and says so.
//!
//! A write whose answer was lost and then retried by the SDK meets its own condition failing;
//! every record carries the writer's run id, so a run recognises its own write and carries on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Refusal, Stop};
use crate::aws::s3::{self, Conditional};
use crate::aws::AwsError;

pub const FORMAT: u32 = 1;

/// What the lock object holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    pub environment: String,
    /// Unique to the run that holds it.
    pub id: String,
    pub holder: Holder,
    pub acquired_at: String,
    pub renewed_at: String,
    pub lease_seconds: f64,
    pub expires_at: String,
    /// `expires_at` in milliseconds since the epoch (what the lease is judged by).
    pub expires_at_ms: i64,
    /// Set when this run took the lock over from a holder whose lease had run out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_over_from: Option<Box<Holder>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub actor: String,
    pub run_url: Option<String>,
    pub host: String,
    pub pid: u32,
    /// `apply`, `deploy`, `rollback`, `promote`, `migrate run`.
    pub command: String,
    pub fingerprint: Option<String>,
}

impl Holder {
    pub fn describe(&self) -> String {
        let mut s = format!("@{} ({} on {}", self.actor, self.command, self.host);
        if let Some(f) = &self.fingerprint {
            s.push_str(&format!(", plan {}", &f[..f.len().min(12)]));
        }
        s.push(')');
        if let Some(u) = &self.run_url {
            s.push_str(&format!(", run {u}"));
        }
        s
    }
}

/// What the lock object, read now, means for a run that wants the lock.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Nobody holds it.
    Free,
    /// Our own record (a write whose answer was lost).
    Ours(Record),
    /// Someone else holds it and the lease runs.
    Held(Record),
    /// Someone else held it and the lease ran out: it may be taken over.
    Expired(Record),
    /// The object is not a slipway lock record.
    Unreadable(String),
}

/// Judges the lock object's bytes (None: there is none) for run `me` at `now_ms`.
pub fn judge(existing: Option<&[u8]>, me: &str, now_ms: i64) -> Verdict {
    let Some(bytes) = existing else {
        return Verdict::Free;
    };
    let record: Record = match serde_json::from_slice(bytes) {
        Ok(r) => r,
        Err(e) => return Verdict::Unreadable(e.to_string()),
    };
    if record.id == me {
        Verdict::Ours(record)
    } else if record.expires_at_ms <= now_ms {
        Verdict::Expired(record)
    } else {
        Verdict::Held(record)
    }
}

/// The refusal for a lock someone else holds: who, since when, until when.
pub fn held(env: &str, r: &Record, now_ms: i64) -> Refusal {
    let left = (r.expires_at_ms - now_ms).max(0) as f64 / 1000.0;
    Refusal::new(
        "lock",
        "lock-held",
        format!(
            "environment \"{env}\" is locked by {} since {}; its lease runs {left:.0}s more (renewed {})",
            r.holder.describe(),
            r.acquired_at,
            r.renewed_at
        ),
    )
    .help(format!(
        "wait for it to finish (or pass --lock-timeout to wait here); if its holder is gone for good, `slipway unlock --env {env} --reason ...`"
    ))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn rfc3339_ms(ms: i64) -> String {
    crate::planfile::timestamp(ms.div_euclid(1000))
}

/// A fresh record for `holder`, leased from now.
pub fn record(env: &str, id: &str, holder: Holder, lease: Duration, now: i64) -> Record {
    let expires = now + lease.as_millis() as i64;
    Record {
        format: FORMAT,
        environment: env.to_string(),
        id: id.to_string(),
        holder,
        acquired_at: rfc3339_ms(now),
        renewed_at: rfc3339_ms(now),
        lease_seconds: lease.as_secs_f64(),
        expires_at: rfc3339_ms(expires),
        expires_at_ms: expires,
        took_over_from: None,
    }
}

impl Record {
    /// The same hold, its lease extended from `now`.
    pub fn renewed(&self, now: i64) -> Record {
        let expires = now + (self.lease_seconds * 1000.0) as i64;
        Record {
            renewed_at: rfc3339_ms(now),
            expires_at: rfc3339_ms(expires),
            expires_at_ms: expires,
            ..self.clone()
        }
    }

    fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a lock record serialises")
    }
}

/// How long a run holds its lease, and how long it waits for someone else's.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub lease: Duration,
    pub wait: Duration,
}

/// Where an environment's lock lives.
#[derive(Clone, Debug)]
pub struct Place {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub key: String,
    pub environment: String,
}

impl Place {
    pub fn new(client: &aws_sdk_s3::Client, bucket: &str, env: &str) -> Place {
        Place {
            client: client.clone(),
            bucket: bucket.to_string(),
            key: crate::naming::lock_key(env),
            environment: env.to_string(),
        }
    }

    fn at(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    async fn read(&self) -> Result<Option<s3::Object>, AwsError> {
        s3::get(&self.client, &self.bucket, &self.key).await
    }
}

/// A lock this run holds, kept alive by its heartbeat until released.
pub struct Held {
    shared: Arc<Shared>,
    heartbeat: tokio::task::JoinHandle<()>,
    /// The holder whose expired lease this run took over.
    pub took_over: Option<Record>,
    /// Milliseconds the acquisition took (the AWS calls and any wait).
    pub acquired_in_ms: f64,
}

struct Shared {
    place: Place,
    record: Mutex<Record>,
    etag: Mutex<String>,
    /// Why the lock is no longer ours, once it is not.
    lost: Mutex<Option<String>>,
}

/// How a release ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Released {
    Released,
    /// Someone else holds it now (it was taken over, or unlocked and taken): left alone.
    NotOurs {
        detail: String,
    },
}

/// Takes the environment's lock for `holder`, waiting up to `opts.wait` for another holder's.
/// A held lock is a refusal naming its holder; nothing is written then.
pub async fn acquire(place: &Place, id: &str, holder: Holder, opts: Options) -> Result<Held, Stop> {
    let started = std::time::Instant::now();
    let deadline = started + opts.wait;
    loop {
        let now = now_ms();
        let existing = place.read().await?;
        let verdict = judge(existing.as_ref().map(|o| o.body.as_slice()), id, now);
        let mut rec = record(&place.environment, id, holder.clone(), opts.lease, now);
        let (result, took_over) = match verdict {
            Verdict::Ours(_) => {
                let o = existing.expect("a record was read");
                (Conditional::Written(o.etag), None)
            }
            Verdict::Free => (
                s3::create(&place.client, &place.bucket, &place.key, rec.bytes()).await?,
                None,
            ),
            Verdict::Expired(old) => {
                rec.took_over_from = Some(Box::new(old.holder.clone()));
                let etag = existing.expect("a record was read").etag;
                (
                    s3::replace(&place.client, &place.bucket, &place.key, rec.bytes(), &etag)
                        .await?,
                    Some(old),
                )
            }
            Verdict::Held(other) => {
                if std::time::Instant::now() >= deadline {
                    return Err(held(&place.environment, &other, now).into());
                }
                tokio::time::sleep(poll(deadline)).await;
                continue;
            }
            Verdict::Unreadable(why) => {
                return Err(Refusal::new(
                    "lock",
                    "lock-unreadable",
                    format!(
                        "{} holds something that is not a slipway lock record ({why})",
                        place.at()
                    ),
                )
                .help(format!(
                    "look at it, then `slipway unlock --env {} --reason ...`",
                    place.environment
                ))
                .into())
            }
        };
        match result {
            Conditional::Written(etag) => {
                let shared = Arc::new(Shared {
                    place: place.clone(),
                    record: Mutex::new(rec),
                    etag: Mutex::new(etag),
                    lost: Mutex::new(None),
                });
                let heartbeat = tokio::spawn(heartbeat(shared.clone(), opts.lease));
                return Ok(Held {
                    shared,
                    heartbeat,
                    took_over,
                    acquired_in_ms: started.elapsed().as_secs_f64() * 1000.0,
                });
            }
            // Someone wrote between our read and our write (or our own write's answer was
            // lost): read again and judge again.
            Conditional::Conflict => continue,
        }
    }
}

fn poll(deadline: std::time::Instant) -> Duration {
    deadline
        .saturating_duration_since(std::time::Instant::now())
        .clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Renews the lease every third of it. A lease that cannot be renewed before it runs out, or a
/// lock someone else now holds, is lost: the run is told (see [`Held::lost`]).
async fn heartbeat(shared: Arc<Shared>, lease: Duration) {
    let every = (lease / 3).max(Duration::from_millis(100));
    let mut renewed = now_ms();
    loop {
        tokio::time::sleep(every).await;
        let now = now_ms();
        let next = shared.record.lock().expect("not poisoned").renewed(now);
        let etag = shared.etag.lock().expect("not poisoned").clone();
        let p = &shared.place;
        match s3::replace(&p.client, &p.bucket, &p.key, next.bytes(), &etag).await {
            Ok(Conditional::Written(etag)) => {
                *shared.etag.lock().expect("not poisoned") = etag;
                *shared.record.lock().expect("not poisoned") = next;
                renewed = now;
            }
            Ok(Conditional::Conflict) => match p.read().await {
                // Our own renewal landed but its answer was lost: adopt it.
                Ok(Some(o)) if matches!(judge(Some(&o.body), &next.id, now), Verdict::Ours(_)) => {
                    *shared.etag.lock().expect("not poisoned") = o.etag;
                    if let Ok(r) = serde_json::from_slice::<Record>(&o.body) {
                        *shared.record.lock().expect("not poisoned") = r;
                    }
                    renewed = now;
                }
                Ok(Some(o)) => {
                    let who = serde_json::from_slice::<Record>(&o.body)
                        .map_or_else(|_| "something else".to_string(), |r| r.holder.describe());
                    *shared.lost.lock().expect("not poisoned") =
                        Some(format!("the lock was taken over by {who}"));
                    return;
                }
                Ok(None) => {
                    *shared.lost.lock().expect("not poisoned") =
                        Some("the lock was released by someone else (`slipway unlock`)".into());
                    return;
                }
                Err(_) => {}
            },
            Err(_) => {}
        }
        if now_ms() - renewed > lease.as_millis() as i64 {
            *shared.lost.lock().expect("not poisoned") = Some(format!(
                "the lease could not be renewed for {:.0}s (S3 did not answer)",
                lease.as_secs_f64()
            ));
            return;
        }
    }
}

impl Held {
    /// Why the lock is no longer this run's, if it is not.
    pub fn lost(&self) -> Option<String> {
        self.shared.lost.lock().expect("not poisoned").clone()
    }

    pub fn record(&self) -> Record {
        self.shared.record.lock().expect("not poisoned").clone()
    }

    /// Stops the heartbeat and deletes the lock if it is still ours.
    pub async fn release(self) -> Result<Released, AwsError> {
        let id = self.record().id;
        self.heartbeat.abort();
        let _ = self.heartbeat.await;
        let p = &self.shared.place;
        for _ in 0..3 {
            let etag = self.shared.etag.lock().expect("not poisoned").clone();
            match s3::delete(&p.client, &p.bucket, &p.key, &etag).await? {
                Conditional::Written(_) => return Ok(Released::Released),
                // The etag moved: a renewal in flight when the heartbeat stopped may have
                // landed. Delete only what is still ours.
                Conditional::Conflict => match p.read().await? {
                    None => return Ok(Released::Released),
                    Some(o) => match judge(Some(&o.body), &id, now_ms()) {
                        Verdict::Ours(_) => {
                            *self.shared.etag.lock().expect("not poisoned") = o.etag;
                        }
                        Verdict::Held(r) | Verdict::Expired(r) => {
                            return Ok(Released::NotOurs {
                                detail: format!("held by {} now", r.holder.describe()),
                            })
                        }
                        Verdict::Free | Verdict::Unreadable(_) => {
                            return Ok(Released::NotOurs {
                                detail: "replaced by something else".into(),
                            })
                        }
                    },
                },
            }
        }
        Ok(Released::NotOurs {
            detail: "it kept changing under the release".into(),
        })
    }
}

/// `slipway unlock`: deletes the lock whoever holds it; returns the record it held (None: it
/// was not locked).
pub async fn force_release(place: &Place) -> Result<Option<Result<Record, String>>, AwsError> {
    for _ in 0..3 {
        let Some(o) = place.read().await? else {
            return Ok(None);
        };
        let was = serde_json::from_slice::<Record>(&o.body).map_err(|e| e.to_string());
        match s3::delete(&place.client, &place.bucket, &place.key, &o.etag).await? {
            Conditional::Written(_) => return Ok(Some(was)),
            // Renewed or taken between our read and delete: read again.
            Conditional::Conflict => continue,
        }
    }
    Err(AwsError::invalid(
        "s3",
        "DeleteObject",
        format!(
            "{} changed three times while being unlocked: its holder is alive; stop it first",
            place.at()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(actor: &str) -> Holder {
        Holder {
            actor: actor.into(),
            run_url: Some("https://github.com/acme/app/actions/runs/1".into()),
            host: "runner-1".into(),
            pid: 42,
            command: "apply".into(),
            fingerprint: Some("abcdef0123456789".into()),
        }
    }

    #[test]
    fn a_lock_is_free_ours_held_or_expired() {
        let r = record(
            "staging",
            "run-a",
            holder("ana"),
            Duration::from_secs(60),
            1_000,
        );
        let bytes = r.bytes();
        assert_eq!(judge(None, "run-b", 1_000), Verdict::Free);
        assert_eq!(
            judge(Some(&bytes), "run-a", 1_000),
            Verdict::Ours(r.clone())
        );
        assert_eq!(
            judge(Some(&bytes), "run-b", 60_999),
            Verdict::Held(r.clone())
        );
        assert_eq!(
            judge(Some(&bytes), "run-b", 61_000),
            Verdict::Expired(r.clone())
        );
        assert!(matches!(
            judge(Some(b"{}"), "run-b", 0),
            Verdict::Unreadable(_)
        ));
    }

    #[test]
    fn renewal_extends_the_lease_and_keeps_the_hold() {
        let r = record(
            "staging",
            "run-a",
            holder("ana"),
            Duration::from_secs(60),
            1_000,
        );
        let n = r.renewed(31_000);
        assert_eq!(n.expires_at_ms, 91_000);
        assert_eq!(n.acquired_at, r.acquired_at);
        assert_eq!(n.id, r.id);
    }

    #[test]
    fn a_held_lock_names_its_holder_and_since_when() {
        let r = record(
            "staging",
            "run-a",
            holder("ana"),
            Duration::from_secs(60),
            0,
        );
        let refusal = held("staging", &r, 30_000);
        assert_eq!(refusal.rule, "lock-held");
        for part in [
            "@ana",
            "apply on runner-1",
            "plan abcdef012345",
            "actions/runs/1",
            "1970-01-01T00:00:00Z",
            "30s more",
        ] {
            assert!(refusal.message.contains(part), "{part}: {refusal}");
        }
    }
}
