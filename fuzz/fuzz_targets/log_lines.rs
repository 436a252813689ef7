//! The journal's reading of `log.jsonl` (`procoder::read_log`: parse, then fold as status
//! does): only a torn last line may be dropped, and cutting the log at `whole` (what the next
//! append does) keeps every terminated record and nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((parsed, _summary)) = procoder::read_log(data) else {
        return;
    };
    assert!(parsed.whole <= data.len());
    assert!(parsed.whole == 0 || data[parsed.whole - 1] == b'\n');
    assert!(!data[parsed.whole..].contains(&b'\n'));
    let (cut, _) = procoder::read_log(&data[..parsed.whole])
        .unwrap_or_else(|line| panic!("the whole lines of a read log are damaged at {line}"));
    assert!(!cut.unterminated);
    let kept = parsed.records.len() - usize::from(parsed.unterminated);
    assert_eq!(
        cut.records,
        parsed.records[..kept],
        "cutting the torn end changed records"
    );
});
