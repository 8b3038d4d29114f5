//! `trailscope completions` and `trailscope man`: generated from the argument tree, so they
//! name the subcommands and flags the binary has.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_for_each_shell_name_the_subcommands_and_their_flags() {
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("complete -F _trailscope"), "{bash}");
    for word in ["import", "open", "--tls-cert", "--ca-cert", "cloudtrail"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    assert!(run(&["completions", "zsh"]).starts_with("#compdef trailscope"));
    let fish = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c trailscope"), "{fish}");
    assert!(fish.contains("-l tls-key"), "{fish}");
    let out = Command::new(env!("CARGO_BIN_EXE_trailscope"))
        .args(["completions", "powershell"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_has_a_section_per_subcommand() {
    let man = run(&["man"]);
    assert!(man.starts_with(".ie"), "roff");
    assert!(man.contains(".TH trailscope 1"), "{man}");
    for sub in ["trailscope-import", "trailscope-serve", "trailscope-open"] {
        assert!(man.contains(&format!(".TH {sub} 1")), "no page for {sub}");
    }
    assert!(man.contains("tls\\-cert"));
}
