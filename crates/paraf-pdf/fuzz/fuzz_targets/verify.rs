#![no_main]
//! Any bytes: verify, prepare and the time-stamp readers must return, never panic or
//! run away.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraf_pdf::verify(data, &[]);
    // Exercises the page tree walk and the update writer; fails at the (fake) chain.
    let options = paraf_pdf::SignOptions::invisible(time::OffsetDateTime::UNIX_EPOCH);
    let _ = paraf_pdf::prepare(data, &[vec![0u8; 4]], &options);
    // A TSA's answer and a token found in a signature are untrusted bytes too.
    let _ = paraf_pdf::tsp::check_token(data, &[0u8; 32]);
    if let Ok(req) = paraf_pdf::tsp::TimestampRequest::for_imprint([0u8; 32], 1) {
        let _ = req.token_from_response(data);
    }
});
