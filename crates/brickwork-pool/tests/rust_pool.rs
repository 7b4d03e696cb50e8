//! The Rust process pool end to end: real worker processes forked by this test
//! program started again as a fork server (so `harness = false`: `main` must call
//! `serve_if_worker` first).

use std::time::{Duration, Instant};

use brickwork_pool::pool::{serve_if_worker, Input, Pool, Registry, TaskError};
use brickwork_pool::Options;

fn registry() -> Registry {
    Registry::new()
        .register("square", |x: u64| x * x)
        .register("pid", |_: ()| std::process::id())
        .register("describe", |(name, xs): (String, Vec<f64>)| {
            format!("{name}: {}", xs.iter().sum::<f64>())
        })
        .register("panic", |x: u64| -> u64 { panic!("bad input {x}") })
        .register("abort_on_3", |x: u64| {
            if x == 3 {
                std::process::abort();
            }
            x
        })
        .register_with_buffers("sum_and_double", |scale: f64, inputs: &[&[u8]]| {
            let values = |bytes: &[u8]| -> Vec<f64> {
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            };
            let sums: Vec<f64> = inputs.iter().map(|b| values(b).iter().sum()).collect();
            let doubled = values(inputs[0])
                .iter()
                .flat_map(|v| (v * scale).to_le_bytes())
                .collect();
            (sums, vec![doubled])
        })
        .register("sleep_ms", |ms: u64| {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        })
}

fn check(name: &str, ok: bool) {
    if !ok {
        eprintln!("FAILED: {name}");
        std::process::exit(1);
    }
    println!("ok: {name}");
}

fn main() {
    serve_if_worker(&registry());

    let pool = Pool::new(2).expect("a pool");
    let squares: Vec<Result<u64, TaskError>> = pool.map("square", 0..1000u64);
    check(
        "map returns every result in order",
        squares
            .iter()
            .enumerate()
            .all(|(i, r)| r == &Ok((i * i) as u64)),
    );

    let pid: u32 = pool.call("pid", ()).expect("a pid");
    check("tasks run in another process", pid != std::process::id());

    let text: Result<String, _> = pool.call("describe", ("sum".to_string(), vec![1.5, 2.5]));
    check(
        "serde arguments of several types",
        text == Ok("sum: 4".into()),
    );

    let panicked: Result<u64, _> = pool.call("panic", 7u64);
    check(
        "a panic fails its task with the message",
        matches!(&panicked, Err(TaskError::Failed(m)) if m.contains("bad input 7")),
    );

    let start = Instant::now();
    let crashed: Vec<Result<u64, TaskError>> = pool.map("abort_on_3", 0..8u64);
    check(
        "an aborting worker fails only its task, with its signal",
        crashed.iter().enumerate().all(|(i, r)| match i {
            3 => matches!(
                r,
                Err(TaskError::WorkerLost {
                    returncode: Some(-6),
                    ..
                })
            ),
            _ => r == &Ok(i as u64),
        }),
    );
    check(
        "the lost task is reported within a second",
        start.elapsed() < Duration::from_secs(1),
    );
    let after: Result<u64, _> = pool.call("square", 5u64);
    check("the pool is usable after a crash", after == Ok(25));

    let n = 1_000_000;
    let mut shared = pool.shared(8 * n).expect("shared memory");
    for (i, chunk) in shared.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&(i as f64).to_le_bytes());
    }
    let plain: Vec<u8> = [1.5f64, 2.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = pool.map_with_buffers::<f64, Vec<f64>>(
        "sum_and_double",
        [(2.0, vec![Input::from(&shared), Input::from(&plain[..])])],
    );
    let (sums, buffers) = out.into_iter().next().unwrap().expect("a result");
    let expected = (n * (n - 1) / 2) as f64;
    check(
        "shared and copied input buffers reach the worker",
        sums == vec![expected, 4.0],
    );
    let doubled = &buffers[0];
    check(
        "output buffers come back through shared memory",
        doubled.len() == 8 * n && doubled[8 * 7..8 * 8] == 14.0f64.to_le_bytes(),
    );

    let missing: Result<u64, _> = pool.call("nope", 1u64);
    check(
        "an unknown function name fails its task",
        matches!(missing, Err(TaskError::Failed(_))),
    );
    drop(pool);

    let options = Options {
        processes: 1,
        timeout: Some(Duration::from_millis(200)),
        max_retries: 0,
        max_tasks_per_child: None,
    };
    let pool = Pool::with_options(options).expect("a pool");
    let start = Instant::now();
    let slow: Result<u64, _> = pool.call("sleep_ms", 10_000u64);
    check(
        "a task past the timeout fails",
        matches!(slow, Err(TaskError::TimedOut(_))),
    );
    check(
        "... soon after the timeout",
        start.elapsed() < Duration::from_secs(2),
    );
    let quick: Result<u64, _> = pool.call("sleep_ms", 1u64);
    check("the pool works after a timeout", quick == Ok(1));
}
