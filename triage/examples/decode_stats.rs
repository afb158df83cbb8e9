use mmdiff_core::{bytes, Config, Model, Outcome};
use mmdiff_oracle::Oracle;
use std::collections::BTreeMap;
fn main() {
    let mut x: u64 = 12345;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut kinds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut max_folios = 0;
    let mut thp = 0u64;
    let mut swap = 0u64;
    let mut inputs_with_folio = 0;
    for _ in 0..3000 {
        let len = 16 + (next() % 2032) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let ops = bytes::decode(&data);
        let mut m = Oracle::new(&Config::default());
        let mut had = false;
        for op in &ops {
            let out = m.apply(op);
            let e = kinds.entry(format!("{:?}", op.kind())).or_default();
            e.0 += 1;
            if matches!(out, Outcome::Ok(_)) {
                e.1 += 1;
            }
            let s = m.raw_state();
            if !s.folios.is_empty() {
                had = true;
            }
            max_folios = max_folios.max(s.folios.len());
            if s.folios.values().any(|f| f.order == 9) {
                thp += 1;
            }
            if !s.swap.is_empty() {
                swap += 1;
            }
        }
        if had {
            inputs_with_folio += 1;
        }
    }
    for (k, (n, ok)) in &kinds {
        println!("{k:16} {n:8} ok {:5.1}%", 100.0 * *ok as f64 / *n as f64);
    }
    println!("inputs with any folio: {inputs_with_folio}/3000, max folios {max_folios}, op-states with THP {thp}, with swap {swap}");
}
