//! The process pool from Rust: `cargo run --release --example process_pool`.
//!
//! Functions are registered by name; the pool runs them in worker processes forked
//! from this program (started again as a fork server — hence `serve_if_worker` first
//! in `main`). A task that panics, crashes its worker or runs past the timeout fails
//! alone; the other tasks finish and the pool goes on.

use std::time::Duration;

use brickwork::pool::{serve_if_worker, Options, Pool, Registry, TaskError};

/// Counts the primes below `n` (CPU-bound work worth a process).
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

fn registry() -> Registry {
    Registry::new()
        .register("count_primes", count_primes)
        .register("crash_on_13", |x: u64| {
            if x == 13 {
                std::process::abort();
            }
            x * 2
        })
        .register("sleep_ms", |ms: u64| {
            std::thread::sleep(Duration::from_millis(ms))
        })
}

fn main() -> std::io::Result<()> {
    serve_if_worker(&registry());

    let pool = Pool::new(2)?;
    let counts: Vec<Result<u64, TaskError>> =
        pool.map("count_primes", [10_000u64, 20_000, 40_000, 80_000]);
    println!("primes below 10k, 20k, 40k, 80k: {counts:?}");

    for (x, result) in (10..16u64).zip(pool.map::<u64, u64>("crash_on_13", 10..16u64)) {
        match result {
            Ok(value) => println!("crash_on_13({x}) = {value}"),
            Err(err) => println!("crash_on_13({x}) failed: {err}"),
        }
    }
    drop(pool);

    let options = Options {
        processes: 1,
        timeout: Some(Duration::from_millis(300)),
        max_retries: 0,
        max_tasks_per_child: None,
    };
    let pool = Pool::with_options(options)?;
    match pool.call::<u64, ()>("sleep_ms", 5_000) {
        Err(err) => println!("a stuck task: {err}"),
        Ok(()) => println!("the stuck task finished?"),
    }
    Ok(())
}
