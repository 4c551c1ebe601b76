//! `mitid-sim device ...`: what a QA tester reads off a citizen's simulated device.

use clap::Subcommand;
use mitid_sim::authenticators::audio::{spoken_code, Voice};
use mitid_sim::authenticators::code_card::{self, NemIdConfig};
use mitid_sim::authenticators::Method;
use mitid_sim::identity::Identity;

use super::{ClockArgs, FixtureArgs};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Print the code the citizen's code display (or audio code reader) shows now.
    Code {
        /// The citizen's user ID.
        user: String,
        /// Read the audio code reader instead of the code display.
        #[arg(long)]
        audio_reader: bool,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Write the audio code reader's current code as spoken WAV.
    Audio {
        user: String,
        /// The WAV file to write.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: std::path::PathBuf,
        /// da (default) or en.
        #[arg(long, default_value = "da")]
        lang: String,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Print the citizen's NemID code card (keys used per the fixtures are marked).
    Card {
        user: String,
        /// The card sent when 20 keys remained, instead of the current one.
        #[arg(long)]
        next: bool,
        #[command(flatten)]
        fixtures: FixtureArgs,
    },
    /// Print the key beside a key number on the citizen's code card.
    Key {
        user: String,
        /// The 4-digit key number the login page shows.
        number: String,
        #[command(flatten)]
        fixtures: FixtureArgs,
    },
}

pub fn run(command: DeviceCommand) -> Result<(), String> {
    match command {
        DeviceCommand::Code {
            user,
            audio_reader,
            fixtures,
            clock,
        } => {
            let citizen = fixtures.find(&user)?;
            let method = if audio_reader {
                Method::AudioReader
            } else {
                Method::CodeDisplay
            };
            let device = citizen
                .totp_device(method)
                .ok_or_else(|| format!("`{user}` has no {}", method.slug()))?;
            let now = clock.clock().now();
            println!("{}", device.secret.code_at(now));
            eprintln!(
                "(valid for {} more seconds)",
                device.secret.seconds_left(now)
            );
            Ok(())
        }
        DeviceCommand::Audio {
            user,
            out,
            lang,
            fixtures,
            clock,
        } => {
            let voice =
                Voice::parse(&lang).ok_or_else(|| format!("--lang `{lang}`: use da or en"))?;
            let citizen = fixtures.find(&user)?;
            let device = citizen
                .totp_device(Method::AudioReader)
                .ok_or_else(|| format!("`{user}` has no audio code reader"))?;
            let code = device.secret.code_at(clock.clock().now());
            let wav = spoken_code(&code, voice).map_err(|e| e.to_string())?;
            std::fs::write(&out, wav)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!("wrote the spoken code {code} to {}", out.display());
            Ok(())
        }
        DeviceCommand::Card {
            user,
            next,
            fixtures,
        } => {
            let citizen = fixtures.find(&user)?;
            let nemid = nemid(&citizen)?;
            print!("{}", card_text(&citizen, nemid, next));
            Ok(())
        }
        DeviceCommand::Key {
            user,
            number,
            fixtures,
        } => {
            let citizen = fixtures.find(&user)?;
            let nemid = nemid(&citizen)?;
            let wanted: u16 = number.trim().parse().map_err(|_| {
                format!("`{number}` is not a key number (4 digits, as the login page shows)")
            })?;
            for (index, label) in [(0, "current card"), (1, "next card")] {
                if let Some(key) = code_card::card_keys(&nemid.pid, index)
                    .into_iter()
                    .find(|k| k.number == wanted)
                {
                    println!("{}", key.key_text());
                    eprintln!(
                        "(key {} on the {label}, {})",
                        key.number_text(),
                        code_card::card_serial(&nemid.pid, index)
                    );
                    return Ok(());
                }
            }
            Err(format!(
                "key number {wanted:04} is on neither of {user}'s cards"
            ))
        }
    }
}

fn nemid(citizen: &Identity) -> Result<&NemIdConfig, String> {
    citizen
        .nemid
        .as_ref()
        .ok_or_else(|| format!("`{}` has no NemID code card", citizen.user_id))
}

/// The card as text, four pairs to a line like the printed card.
fn card_text(citizen: &Identity, nemid: &NemIdConfig, next: bool) -> String {
    let index = u32::from(next);
    let used = if next {
        0
    } else {
        usize::from(nemid.keys_used)
    };
    let mut out = format!(
        "NemID nøglekort {}  ·  {}  ·  {}\n",
        code_card::card_serial(&nemid.pid, index),
        citizen.name,
        nemid.pid
    );
    let keys = code_card::card_keys(&nemid.pid, index);
    for (row, chunk) in keys.chunks(4).enumerate() {
        let cells: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(col, key)| {
                let mark = if row * 4 + col < used { "x" } else { " " };
                format!("{} {}{mark}", key.number_text(), key.key_text())
            })
            .collect();
        out.push_str(&cells.join("   "));
        out.push('\n');
    }
    if used > 0 {
        out.push_str(&format!(
            "x = used at start ({used} of {})\n",
            code_card::KEYS_PER_CARD
        ));
    }
    out
}
