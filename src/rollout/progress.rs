//! Rollout progress for people: one live line per service on a terminal (indicatif), plain
//! timestamped log lines otherwise (CI logs), always on stderr.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub trait Progress: Send + Sync {
    /// A step of the rollout begins (verify, register, update, wait, smoke, rollback).
    fn step(&self, msg: &str);
    /// A one-off fact worth a line.
    fn info(&self, msg: &str);
    /// A service's current state (printed when it changes).
    fn service(&self, name: &str, state: &str);
    /// The rollout is over: settle the display.
    fn finish(&self);
}

/// Bars on a terminal, log lines elsewhere.
pub fn new(terminal: bool) -> Box<dyn Progress> {
    if terminal {
        Box::new(Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        })
    } else {
        Box::new(Lines {
            last: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        })
    }
}

struct Lines {
    last: Mutex<BTreeMap<String, String>>,
    started: Instant,
}

impl Lines {
    fn stamp(&self) -> String {
        format!("[{:>6.1}s]", self.started.elapsed().as_secs_f64())
    }
}

impl Progress for Lines {
    fn step(&self, msg: &str) {
        eprintln!("{} ==> {msg}", self.stamp());
    }
    fn info(&self, msg: &str) {
        eprintln!("{}     {msg}", self.stamp());
    }
    fn service(&self, name: &str, state: &str) {
        let mut last = self.last.lock().expect("progress lock");
        if last.get(name).map(String::as_str) != Some(state) {
            eprintln!("{}     {name}: {state}", self.stamp());
            last.insert(name.to_string(), state.to_string());
        }
    }
    fn finish(&self) {}
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    started: Instant,
}

impl Progress for Bars {
    fn step(&self, msg: &str) {
        let _ = self.multi.println(format!(
            "[{:>6.1}s] ==> {msg}",
            self.started.elapsed().as_secs_f64()
        ));
    }
    fn info(&self, msg: &str) {
        let _ = self.multi.println(format!("          {msg}"));
    }
    fn service(&self, name: &str, state: &str) {
        let mut bars = self.bars.lock().expect("progress lock");
        let bar = bars.entry(name.to_string()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("  {spinner} {prefix:<20} {elapsed:>4} {wide_msg}")
                    .expect("a valid template"),
            );
            b.set_prefix(name.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(state.to_string());
    }
    fn finish(&self) {
        for bar in self.bars.lock().expect("progress lock").values() {
            bar.finish();
        }
    }
}
