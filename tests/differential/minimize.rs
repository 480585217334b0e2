//! Shrinks a failing input to a few records that still show the difference (delta
//! debugging: drop chunks of halving size while Kafka and we still disagree). Each try runs
//! Kafka Streams once, so it is opt-in: `DIFFERENTIAL_MINIMIZE=1`.

use std::path::Path;

use serde_json::Value;

use crate::cases::Case;
use crate::generate::InputRecord;
use crate::Run;

/// Whether `input` still makes the case differ: writes it alone into `dir`, runs Kafka on it
/// and compares.
fn differs(case: &Case, input: &[InputRecord], run: Run, dir: &Path) -> bool {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("a directory for the minimizer");
    let lines: Vec<String> = input.iter().map(|r| r.to_json().to_string()).collect();
    let stem = run.stem(case.name);
    std::fs::write(dir.join(format!("{stem}.in.jsonl")), lines.join("\n") + "\n").expect("the input");
    crate::run_kafka(dir);
    let kafka: Vec<Value> = crate::read_lines(&dir.join(format!("{stem}.out.jsonl")));
    let ours = crate::run_ours(case, input, run);
    kafka != ours
}

/// The smallest input found that still differs, and how many Kafka runs it took.
pub(crate) fn minimize(
    case: &Case,
    input: &[InputRecord],
    run: Run,
    dir: &Path,
) -> (Vec<InputRecord>, usize) {
    let mut current = input.to_vec();
    let mut runs = 0;
    let mut chunk = current.len().div_ceil(2);
    while chunk >= 1 {
        let mut start = 0;
        let mut removed_any = false;
        while start < current.len() {
            let end = (start + chunk).min(current.len());
            let candidate: Vec<InputRecord> =
                current[..start].iter().chain(&current[end..]).cloned().collect();
            runs += 1;
            if !candidate.is_empty() && differs(case, &candidate, run, dir) {
                current = candidate;
                removed_any = true;
            } else {
                start = end;
            }
        }
        if !removed_any {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    (current, runs)
}
