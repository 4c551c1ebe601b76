//! `mitid-sim device ...`: what a QA tester reads off a citizen's simulated device.

use clap::Subcommand;
use mitid_sim::authenticators::audio::{spoken_code, Voice};
use mitid_sim::authenticators::code_card::{self, NemIdConfig};
use mitid_sim::authenticators::Method;
use mitid_sim::identity::Identity;

use super::apps::{self, AppCommand};
use super::output::print_json;
use super::server::{segment, LiveArgs};
use super::{ClockArgs, FixtureArgs};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Print the code the citizen's code display (or audio code reader) shows now (a
    /// running broker's with --server, else from the fixtures and this machine's clock).
    Code {
        /// The citizen's user ID.
        user: String,
        /// Read the audio code reader instead of the code display.
        #[arg(long)]
        audio_reader: bool,
        /// Print JSON (code, seconds_left) instead of the bare code.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        server: LiveArgs,
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
    /// Print the key beside a key number on the citizen's code card (the card a running
    /// broker has the citizen on with --server, else the first two cards).
    Key {
        user: String,
        /// The 4-digit key number the login page shows.
        number: String,
        /// Print JSON (key, card, card_serial, used) instead of the bare key.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        fixtures: FixtureArgs,
        #[command(flatten)]
        server: LiveArgs,
    },
    #[command(flatten)]
    Apps(AppCommand),
}

pub fn run(command: DeviceCommand) -> Result<(), String> {
    match command {
        DeviceCommand::Code {
            user,
            audio_reader,
            json,
            fixtures,
            server,
            clock,
        } => {
            let method = if audio_reader {
                Method::AudioReader
            } else {
                Method::CodeDisplay
            };
            let answer = match server.connect()? {
                Some(server) => {
                    let device = if audio_reader {
                        "audio_reader"
                    } else {
                        "code_display"
                    };
                    server.get(&format!(
                        "/citizens/{}/code?device={device}",
                        segment(&user)
                    ))?
                }
                None => {
                    let citizen = fixtures.find(&user)?;
                    let device = citizen
                        .totp_device(method)
                        .ok_or_else(|| format!("`{user}` has no {}", method.slug()))?;
                    let now = clock.clock().now();
                    // Offline, this machine's clock decides; a broker whose clock was
                    // shifted (admin API, --clock-offset) shows another code.
                    eprintln!(
                        "computed offline from the fixtures and this machine's clock \
                         (offset {}): a running broker with a shifted clock may show \
                         another code; ask it with --server <URL>",
                        clock.offset_text()
                    );
                    serde_json::json!({
                        "user_id": citizen.user_id.as_str(),
                        "device": method,
                        "code": device.secret.code_at(now),
                        "seconds_left": device.secret.seconds_left(now),
                    })
                }
            };
            if json {
                return print_json(&answer);
            }
            println!("{}", answer["code"].as_str().unwrap_or_default());
            eprintln!("(valid for {} more seconds)", answer["seconds_left"]);
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
            json,
            fixtures,
            server,
        } => {
            let answer = match server.connect()? {
                Some(server) => server.get(&format!(
                    "/citizens/{}/card-key/{}",
                    segment(&user),
                    segment(number.trim())
                ))?,
                None => offline_key(&fixtures.find(&user)?, &number)?,
            };
            if json {
                return print_json(&answer);
            }
            println!("{}", answer["key"].as_str().unwrap_or_default());
            let used = if answer["used"] == true {
                ", already used"
            } else {
                ""
            };
            eprintln!(
                "(key {} on the {} card, {}{used})",
                answer["number"].as_str().unwrap_or_default(),
                answer["card"].as_str().unwrap_or_default(),
                answer["card_serial"].as_str().unwrap_or_default(),
            );
            Ok(())
        }
        DeviceCommand::Apps(command) => apps::run(command),
    }
}

/// The key beside `number` on the first two cards, as the admin API reports it.
fn offline_key(citizen: &Identity, number: &str) -> Result<serde_json::Value, String> {
    let nemid = nemid(citizen)?;
    let wanted: u16 = number.trim().parse().map_err(|_| {
        format!("`{number}` is not a key number (4 digits, as the login page shows)")
    })?;
    for (index, card) in [(0, "current"), (1, "next")] {
        let keys = code_card::card_keys(&nemid.pid, index);
        if let Some(position) = keys.iter().position(|k| k.number == wanted) {
            return Ok(serde_json::json!({
                "user_id": citizen.user_id.as_str(),
                "number": keys[position].number_text(),
                "key": keys[position].key_text(),
                "card": card,
                "card_serial": code_card::card_serial(&nemid.pid, index),
                "used": index == 0 && position < usize::from(nemid.keys_used),
            }));
        }
    }
    Err(format!(
        "key number {wanted:04} is on neither of {}'s cards",
        citizen.user_id
    ))
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
