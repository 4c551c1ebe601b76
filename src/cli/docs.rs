//! `mitid-sim completions <shell>` and `mitid-sim man`: generated from the clap definition
//! at run time, so they always match the options of this very binary.

use std::path::PathBuf;

use clap::CommandFactory;

use super::Cli;

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write mitid-sim.1 and one page per subcommand (mitid-sim-serve.1, ...) into DIR,
    /// instead of printing mitid-sim.1.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Result<(), String> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mitid-sim", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if args.shell == clap_complete::Shell::Bash {
        // clap_complete (≤ 4.6.11) spells the states of a hyphenated binary two ways, so no
        // subcommand's options would complete (clap-rs/clap#6421): use the loop's spelling.
        script = script.replace("mitid__subcmd__sim", "mitid__sim");
    }
    super::serve::say(&script);
    Ok(())
}

/// What the generated page cannot know: the files and variables the program reads, and
/// where to start.
const MAIN_PAGE_SECTIONS: &str = r#".SH EXAMPLES
.TP
\fBmitid\-sim demo\fR
The broker and the demo service Min Side; log in as a built\-in citizen.
.TP
\fBmitid\-sim serve\fR
The broker on http://127.0.0.1:8088 with issuer http://127.0.0.1:8088/op.
.TP
\fBmitid\-sim serve \-\-tls\fR
The same over HTTPS; prints the local CA file to trust.
.TP
\fBmitid\-sim conformance run \-\-target my\-rp.toml\fR
Drive a relying party through the conformance catalogue.
.SH ENVIRONMENT
.TP
\fBMITID_SIM_HOME\fR
The per\-user folder (kept signing keys, the local CA of \-\-tls) instead of $XDG_STATE_HOME/mitid\-sim.
.TP
\fBMITID_SIM_SERVER\fR, \fBMITID_SIM_ADMIN_TOKEN\fR
The running broker the admin verbs talk to, and its admin token.
.TP
\fBMITID_SIM_HOST\fR, \fBMITID_SIM_PORT\fR, \fBMITID_SIM_PUBLIC_URL\fR, \fBMITID_SIM_STATE_DIR\fR, \fBMITID_SIM_USERS\fR, \fBMITID_SIM_CLIENTS\fR, \fBMITID_SIM_KEYS\fR, \fBMITID_SIM_TLS\fR
The options of \fBserve\fR of the same names.
.TP
\fBRUST_LOG\fR
Log filter of the server (default mitid_sim=info).
.SH FILES
.TP
\fI$XDG_STATE_HOME/mitid\-sim/signing\-keys/\fR
The signing keys and certificates serve keeps without \-\-state\-dir (RPs may pin them).
.TP
\fI$XDG_STATE_HOME/mitid\-sim/tls/ca.pem\fR
The local CA that \-\-tls serves certificates from (or \fI<state\-dir>/tls/ca.pem\fR).
.TP
\fI<state\-dir>/state.json\fR
Runtime changes kept by \-\-state\-dir.
.SH SEE ALSO
\fBmitid\-sim\-serve\fR(1), \fBmitid\-sim\-demo\fR(1), \fBmitid\-sim\-conformance\fR(1)
"#;

/// The main page: clap's sections, then examples, environment and files.
fn main_page() -> Result<Vec<u8>, String> {
    let man = clap_mangen::Man::new(Cli::command().disable_help_subcommand(true));
    let mut page = Vec::new();
    let render = |result: std::io::Result<()>| {
        result.map_err(|e| format!("cannot render the manual page: {e}"))
    };
    render(man.render_title(&mut page))?;
    render(man.render_name_section(&mut page))?;
    render(man.render_synopsis_section(&mut page))?;
    render(man.render_description_section(&mut page))?;
    render(man.render_options_section(&mut page))?;
    render(man.render_subcommands_section(&mut page))?;
    page.extend_from_slice(MAIN_PAGE_SECTIONS.as_bytes());
    render(man.render_version_section(&mut page))?;
    Ok(page)
}

pub fn man(args: ManArgs) -> Result<(), String> {
    let page = main_page()?;
    match args.out {
        Some(dir) => {
            let failed = |e: std::io::Error| format!("cannot write to {}: {e}", dir.display());
            std::fs::create_dir_all(&dir).map_err(failed)?;
            clap_mangen::generate_to(Cli::command(), &dir).map_err(failed)?;
            std::fs::write(dir.join("mitid-sim.1"), page).map_err(failed)?;
            println!("wrote the manual pages to {}", dir.display());
            Ok(())
        }
        None => {
            super::serve::say(&String::from_utf8_lossy(&page));
            Ok(())
        }
    }
}
