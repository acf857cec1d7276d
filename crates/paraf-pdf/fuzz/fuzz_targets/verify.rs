#![no_main]
//! Any bytes: verify and prepare must return, never panic or run away.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraf_pdf::verify(data, &[]);
    // Exercises the page tree walk and the update writer; fails at the (fake) chain.
    let options = paraf_pdf::SignOptions::invisible(time::OffsetDateTime::UNIX_EPOCH);
    let _ = paraf_pdf::prepare(data, &[vec![0u8; 4]], &options);
});
