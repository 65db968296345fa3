#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chat_fuzz::envelope_open(data));
