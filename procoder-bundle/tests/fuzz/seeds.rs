//! Writes the committed seed corpora of the cargo-fuzz targets (fuzz/seeds/) that are built
//! rather than copied: `PROCODER_FUZZ_WRITE_SEEDS=fuzz/seeds cargo test -p procoder-bundle
//! --test fuzz -- --ignored write_seeds`.
use crate::header::header_seeds;
use crate::objects::{build_bundle, receiver, seed_spec};
use crate::zip::zip_seeds;
use std::path::Path;

fn write_all(dir: &Path, ext: &str, seeds: &[Vec<u8>]) {
    std::fs::create_dir_all(dir).expect("create the seed dir");
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}.{ext}")), s).expect("write a seed");
    }
}

#[test]
#[ignore = "writes fuzz/seeds when asked to"]
fn write_seeds() {
    let Some(root) = std::env::var_os("PROCODER_FUZZ_WRITE_SEEDS") else {
        return;
    };
    let root = Path::new(&root);
    // Seed 0 is ours (write_return_zip); the deflated-with-zeros ones compress to a few KB.
    write_all(&root.join("return_zip"), "zip", &zip_seeds());
    write_all(&root.join("bundle_header"), "bundle", &header_seeds());
    // The fuzz target's receiver is this one: the base commit id is the same.
    let (_tmp, _repo, base) = receiver();
    let (bundle, _) = build_bundle(&seed_spec(), &base.to_string());
    write_all(&root.join("pack_objects"), "bundle", &[bundle]);
}
