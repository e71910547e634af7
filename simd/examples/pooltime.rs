use std::time::Instant;
fn main() {
    hypersimplex_simd::pool::set_num_threads(2);
    let x: Vec<f32> = (0..81920)
        .map(|i| ((i * 7919) % 1000) as f32 * 0.01)
        .collect();
    let mut y = vec![0.0f32; x.len()];
    let k = hypersimplex_simd::Kernels::active();
    for rep in 0..3 {
        let t = Instant::now();
        for _ in 0..2000 {
            hypersimplex_simd::pool::run(|| std::hint::black_box(1));
        }
        println!(
            "empty run: {:.2} us",
            t.elapsed().as_secs_f64() * 1e6 / 2000.0
        );
        let t = Instant::now();
        for _ in 0..2000 {
            hypersimplex_simd::pool::run(|| {
                k.soft_binary_argmax_rows(
                    &x,
                    10,
                    8192,
                    hypersimplex_simd::RowK::All(4096.0),
                    1.5,
                    &mut y,
                )
                .unwrap()
            });
        }
        println!(
            "10x8192 in pool: {:.2} us",
            t.elapsed().as_secs_f64() * 1e6 / 2000.0
        );
        let _ = rep;
    }
}
