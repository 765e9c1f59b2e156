//! The README's walkthrough cannot rot: every ````console block in it is replayed here, in
//! a scratch directory, and each command's output must equal what the README shows.
//!
//! Commands understood: `orgsync ARGS...` (the binary under test), `cp SRC DST` (SRC from
//! the repository), and `sed -i 's/OLD/NEW/' FILE` (literal OLD, first match per line).
//! Outputs are stdout and stderr as one stream, as a terminal shows them, and the exit
//! code when it is not 0 (`[exit N]`). The walkthrough runs as of ORGSYNC_TODAY
//! (2026-12-01) so expiry dates do not change it.
//!
//! After an intended change of output, regenerate the README's outputs with
//! `UPDATE_README=1 cargo test --test integration readme`, then review the diff.

use std::path::{Path, PathBuf};

use crate::support::Orgsync;

const TODAY: &str = "2026-12-01";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `$ command` of a console block and the output the README shows for it.
struct Step {
    command: String,
    shown: String,
}

/// The console blocks of the README, each as (line range of its body, steps).
fn console_blocks(readme: &str) -> Vec<(usize, usize, Vec<Step>)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        // A console block may show markdown with fences of its own, so it opens with four
        // backticks and closes with the same fence.
        if lines[i].trim_end() == "````console" {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim_end() != "````" {
                end += 1;
            }
            let mut steps: Vec<Step> = Vec::new();
            for line in &lines[start..end] {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    steps.push(Step {
                        command: cmd.to_string(),
                        shown: String::new(),
                    });
                } else if let Some(step) = steps.last_mut() {
                    step.shown.push_str(line);
                    step.shown.push('\n');
                }
            }
            blocks.push((start, end, steps));
            i = end;
        }
        i += 1;
    }
    blocks
}

fn split_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Runs one step in `dir` and returns what a terminal would show.
fn run(step: &Step, dir: &Path) -> String {
    let words = split_words(&step.command);
    let (program, args) = words.split_first().expect("an empty command in the README");
    match program.as_str() {
        "orgsync" => run_orgsync(args, dir),
        "cp" => {
            let [src, dst] = args else {
                panic!("`cp` in the README takes two paths: {}", step.command)
            };
            std::fs::copy(repo().join(src), dir.join(dst)).expect("cp in the README walkthrough");
            String::new()
        }
        "sed" => {
            let [flag, script, file] = args else {
                panic!("`sed` in the README must be `sed -i 's/OLD/NEW/' FILE`")
            };
            assert_eq!(flag, "-i");
            let parts: Vec<&str> = script.split('/').collect();
            let [_, old, new, _] = parts.as_slice() else {
                panic!("unsupported sed script {script}")
            };
            let unescape = |s: &str| s.replace("\\[", "[").replace("\\]", "]");
            let (old, new) = (unescape(old), unescape(new));
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).expect("sed target");
            assert!(
                text.contains(&old),
                "sed in the README finds nothing: {old}"
            );
            let edited: Vec<String> = text
                .split_inclusive('\n')
                .map(|line| line.replacen(&old, &new, 1))
                .collect();
            std::fs::write(&path, edited.concat()).expect("sed write");
            String::new()
        }
        other => panic!("the README walkthrough uses `{other}`, which this test cannot replay"),
    }
}

/// Runs orgsync in `dir` with no API key, as the README's reader would the first time.
fn run_orgsync(args: &[String], dir: &Path) -> String {
    let run = Orgsync::new()
        .args(args)
        .current_dir(dir)
        .env("ORGSYNC_TODAY", TODAY)
        .stderr_to_stdout()
        .run_blocking();
    let mut out = run.stdout;
    if run.code != 0 {
        out.push_str(&format!("[exit {}]\n", run.code));
    }
    out
}

#[test]
fn readme_walkthrough_outputs_are_what_orgsync_prints() {
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let blocks = console_blocks(&readme);
    assert!(
        blocks.iter().map(|(_, _, s)| s.len()).sum::<usize>() >= 6,
        "the README walkthrough lost its steps"
    );
    let dir = tempfile::tempdir().expect("scratch dir");
    let update = std::env::var_os("UPDATE_README").is_some();
    let mut lines: Vec<String> = readme.lines().map(str::to_string).collect();
    let mut mismatches = Vec::new();
    // Rewrite from the last block up, so earlier line numbers stay valid.
    let mut rewritten: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for (start, end, steps) in &blocks {
        let mut body = Vec::new();
        for step in steps {
            let actual = run(step, dir.path());
            if actual != step.shown {
                mismatches.push(format!(
                    "$ {}\n--- README shows:\n{}--- orgsync printed:\n{}",
                    step.command, step.shown, actual
                ));
            }
            body.push(format!("$ {}", step.command));
            body.extend(actual.lines().map(str::to_string));
        }
        rewritten.push((*start, *end, body));
    }
    if update {
        for (start, end, body) in rewritten.into_iter().rev() {
            lines.splice(start..end, body);
        }
        std::fs::write(&path, lines.join("\n") + "\n").expect("write README.md");
        return;
    }
    assert!(
        mismatches.is_empty(),
        "the README walkthrough is out of date (regenerate with UPDATE_README=1 cargo test --test integration readme):\n\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let first_block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .expect("a code block")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        first_block,
        [
            "cargo run --release -- plan --sandbox -c org.example.yaml",
            "cargo test"
        ]
    );
}
