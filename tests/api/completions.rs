//! Shell completions and manual pages, generated from the CLI definition, work in the
//! shells and in `man` as installed by the README's instructions.

use std::path::Path;
use std::process::Command;

use crate::helpers::TempHome;

fn mitid_sim(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mitid-sim"))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed (tests/run.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What bash offers for `line` (the last word is the one being completed).
fn bash_completes(script: &Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let cword = words.len() - 1;
    let previous = words[cword - 1];
    let quoted = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'; COMP_WORDS=({quoted}); COMP_CWORD={cword}; \
         _mitid__sim mitid-sim '{}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words[cword]
    );
    run("bash", &["-c", &program])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_their_options() {
    let home = TempHome::new();
    let script = home.path().join("mitid-sim.bash");
    std::fs::write(&script, mitid_sim(&["completions", "bash"])).unwrap();
    assert_eq!(
        bash_completes(&script, "mitid-sim se"),
        ["serve", "service-providers", "sessions"]
    );
    assert_eq!(
        bash_completes(&script, "mitid-sim serve --tl"),
        ["--tls", "--tls-cert", "--tls-key"]
    );
    assert_eq!(
        bash_completes(&script, "mitid-sim users l"),
        ["list", "lock"]
    );
    assert!(bash_completes(&script, "mitid-sim completions ").contains(&"fish".to_string()));
}

#[test]
fn fish_completes_subcommands_with_their_descriptions() {
    let home = TempHome::new();
    let script = home.path().join("mitid-sim.fish");
    std::fs::write(&script, mitid_sim(&["completions", "fish"])).unwrap();
    let program = format!(
        "source '{}'; complete -C'mitid-sim se'; complete -C'mitid-sim serve --tl'",
        script.display()
    );
    let offered = run("fish", &["--no-config", "-c", &program]);
    assert!(offered.contains("serve\tRun the broker"), "{offered}");
    assert!(offered.contains("--tls-cert\t"), "{offered}");
}

#[test]
fn the_zsh_completion_is_a_valid_compdef_function() {
    let home = TempHome::new();
    let script = home.path().join("_mitid-sim");
    let text = mitid_sim(&["completions", "zsh"]);
    assert!(text.starts_with("#compdef mitid-sim"), "{}", &text[..40]);
    std::fs::write(&script, &text).unwrap();
    run("zsh", &["-n", script.to_str().unwrap()]);
    // Loaded from fpath as the README installs it, the function knows the subcommands.
    let program = format!(
        "fpath=('{}' $fpath); autoload -Uz +X _mitid-sim && functions _mitid-sim",
        home.path().display()
    );
    let body = run("zsh", &["-f", "-c", &program]);
    assert!(body.contains("_mitid-sim ()"), "{body}");
    assert!(body.contains("--tls-cert"), "{body}");
}

#[test]
fn the_manual_pages_render_without_warnings() {
    let page = mitid_sim(&["man"]);
    assert!(page.contains(".TH mitid-sim 1"), "{}", &page[..200]);
    for section in [
        "SYNOPSIS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(page.contains(&format!(".SH {section}")), "{section}");
    }
    let home = TempHome::new();
    let man1 = home.path().join("man1");
    mitid_sim(&["man", "--out", man1.to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for expected in [
        "mitid-sim.1",
        "mitid-sim-serve.1",
        "mitid-sim-users-list.1",
        "mitid-sim-conformance-run.1",
        "mitid-sim-completions.1",
    ] {
        assert!(
            pages.iter().any(|p| p == expected),
            "{expected} in {pages:?}"
        );
    }
    for page in &pages {
        let path = man1.join(page);
        // -ww: every warning; -z: no output. A broken page makes groff complain.
        let output = Command::new("groff")
            .args(["-man", "-ww", "-z", "-Tutf8"])
            .arg(&path)
            .output()
            .expect("groff is installed (tests/run.sh installs it)");
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let serve = run(
        "groff",
        &[
            "-man",
            "-Tutf8",
            man1.join("mitid-sim-serve.1").to_str().unwrap(),
        ],
    );
    assert!(serve.contains("tls"), "{serve}");
    let main = std::fs::read_to_string(man1.join("mitid-sim.1")).unwrap();
    assert!(
        main.contains(".SH ENVIRONMENT"),
        "the installed main page is the full one"
    );
}
