//! Speech for the audio code reader (kodeoplæser): the device that reads a one-time code
//! aloud for citizens who cannot see a code display. The simulator stitches the spoken code
//! together from per-digit clips so it needs no speech engine at run time; the clips are
//! regenerated with `bash fixtures/audio/generate.sh`.

use std::io::Cursor;
use std::sync::OnceLock;

/// Silence before the first and after the last digit, so players that fade in or clip the
/// start of a stream do not swallow the first word.
const EDGE_SILENCE_MS: u32 = 300;
/// Pause between digits: long enough that "1 1" is not heard as one drawn-out word.
const DIGIT_PAUSE_MS: u32 = 350;
/// Pause before the repetition, clearly longer than a digit pause so the listener can tell
/// where the code starts again.
const REPEAT_PAUSE_MS: u32 = 900;
/// A real code reader says the code twice so a listener who missed a digit need not replay.
const READINGS: usize = 2;

/// The format every clip is generated in; samples are concatenated as they are, so a clip
/// in any other format would come out as noise or at the wrong speed.
const CLIP_SPEC: hound::WavSpec = hound::WavSpec {
    channels: 1,
    sample_rate: 16_000,
    bits_per_sample: 16,
    sample_format: hound::SampleFormat::Int,
};

const DANISH_CLIPS: [&[u8]; 10] = [
    include_bytes!("../../fixtures/audio/da/0.wav"),
    include_bytes!("../../fixtures/audio/da/1.wav"),
    include_bytes!("../../fixtures/audio/da/2.wav"),
    include_bytes!("../../fixtures/audio/da/3.wav"),
    include_bytes!("../../fixtures/audio/da/4.wav"),
    include_bytes!("../../fixtures/audio/da/5.wav"),
    include_bytes!("../../fixtures/audio/da/6.wav"),
    include_bytes!("../../fixtures/audio/da/7.wav"),
    include_bytes!("../../fixtures/audio/da/8.wav"),
    include_bytes!("../../fixtures/audio/da/9.wav"),
];

const ENGLISH_CLIPS: [&[u8]; 10] = [
    include_bytes!("../../fixtures/audio/en/0.wav"),
    include_bytes!("../../fixtures/audio/en/1.wav"),
    include_bytes!("../../fixtures/audio/en/2.wav"),
    include_bytes!("../../fixtures/audio/en/3.wav"),
    include_bytes!("../../fixtures/audio/en/4.wav"),
    include_bytes!("../../fixtures/audio/en/5.wav"),
    include_bytes!("../../fixtures/audio/en/6.wav"),
    include_bytes!("../../fixtures/audio/en/7.wav"),
    include_bytes!("../../fixtures/audio/en/8.wav"),
    include_bytes!("../../fixtures/audio/en/9.wav"),
];

/// The language the code is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Voice {
    Danish,
    English,
}

impl Voice {
    /// Reads the language code used in URLs and configuration (`"da"` or `"en"`).
    pub fn parse(text: &str) -> Option<Voice> {
        match text {
            "da" => Some(Voice::Danish),
            "en" => Some(Voice::English),
            _ => None,
        }
    }

    /// The language code [`Voice::parse`] accepts.
    pub fn code(self) -> &'static str {
        match self {
            Voice::Danish => "da",
            Voice::English => "en",
        }
    }

    fn clip_files(self) -> &'static [&'static [u8]; 10] {
        match self {
            Voice::Danish => &DANISH_CLIPS,
            Voice::English => &ENGLISH_CLIPS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("an audio code can only contain the digits 0-9, got {0:?}")]
    NotDigits(String),
    #[error("could not write the spoken code as WAV: {0}")]
    Wav(#[from] hound::Error),
}

/// WAV bytes that speak each digit of `code` with a short pause (about 350 ms) between
/// digits and about 300 ms of silence at the start and end; the whole code is read twice
/// with ~900 ms between, as a code reader repeats itself.
pub fn spoken_code(code: &str, voice: Voice) -> Result<Vec<u8>, AudioError> {
    // An empty code would produce a file of pure silence, which a listener cannot tell
    // apart from a broken reader, so it is refused along with non-digits.
    // `is_ascii_digit` rather than `is_numeric`: there are only clips for 0-9.
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AudioError::NotDigits(code.to_owned()));
    }
    let clips = decoded_clips(voice);

    let mut samples: Vec<i16> = Vec::new();
    push_silence(&mut samples, EDGE_SILENCE_MS);
    for reading in 0..READINGS {
        if reading > 0 {
            push_silence(&mut samples, REPEAT_PAUSE_MS);
        }
        for (position, digit) in code.bytes().enumerate() {
            if position > 0 {
                push_silence(&mut samples, DIGIT_PAUSE_MS);
            }
            samples.extend_from_slice(&clips[usize::from(digit - b'0')]);
        }
    }
    push_silence(&mut samples, EDGE_SILENCE_MS);

    let mut cursor = Cursor::new(Vec::new());
    // Borrowing the cursor lets us take the buffer back after `finalize`, which consumes
    // the writer; finalizing is what fills in the header's length fields.
    let mut writer = hound::WavWriter::new(&mut cursor, CLIP_SPEC)?;
    for sample in samples {
        writer.write_sample(sample)?;
    }
    writer.finalize()?;
    Ok(cursor.into_inner())
}

fn push_silence(samples: &mut Vec<i16>, millis: u32) {
    let count = CLIP_SPEC.sample_rate * u32::from(CLIP_SPEC.channels) * millis / 1000;
    samples.resize(samples.len() + count as usize, 0);
}

/// Each voice's clips as samples, decoded on first use: every code read in that voice
/// reuses them, and decoding per request would be wasted work.
fn decoded_clips(voice: Voice) -> &'static [Vec<i16>; 10] {
    static DANISH: OnceLock<[Vec<i16>; 10]> = OnceLock::new();
    static ENGLISH: OnceLock<[Vec<i16>; 10]> = OnceLock::new();
    let cache = match voice {
        Voice::Danish => &DANISH,
        Voice::English => &ENGLISH,
    };
    cache.get_or_init(|| {
        let files = voice.clip_files();
        std::array::from_fn(|digit| decode_clip(voice, digit, files[digit]))
    })
}

/// The clips are fixed data compiled into the binary, so a bad one is a build defect that
/// the tests catch, not a condition a request could recover from.
fn decode_clip(voice: Voice, digit: usize, bytes: &[u8]) -> Vec<i16> {
    let reader = hound::WavReader::new(bytes).unwrap_or_else(|err| {
        panic!(
            "embedded clip fixtures/audio/{}/{digit}.wav is not a WAV file: {err}",
            voice.code()
        )
    });
    assert_eq!(
        reader.spec(),
        CLIP_SPEC,
        "embedded clip fixtures/audio/{}/{digit}.wav must be mono 16-bit PCM at 16 kHz; \
         rerun fixtures/audio/generate.sh",
        voice.code()
    );
    reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|err| {
            panic!(
                "embedded clip fixtures/audio/{}/{digit}.wav has unreadable samples: {err}",
                voice.code()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOICES: [Voice; 2] = [Voice::Danish, Voice::English];

    fn read(wav: &[u8]) -> (hound::WavSpec, Vec<i16>) {
        let reader = hound::WavReader::new(wav).expect("output parses as WAV");
        let spec = reader.spec();
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .expect("output samples decode");
        (spec, samples)
    }

    fn clip(voice: Voice, digit: usize) -> Vec<i16> {
        read(voice.clip_files()[digit]).1
    }

    fn samples_for(millis: u32) -> usize {
        (16_000 * millis / 1000) as usize
    }

    /// Every offset at which `needle` occurs in `haystack`.
    fn occurrences(haystack: &[i16], needle: &[i16]) -> Vec<usize> {
        haystack
            .windows(needle.len())
            .enumerate()
            .filter(|(_, window)| *window == needle)
            .map(|(offset, _)| offset)
            .collect()
    }

    #[test]
    fn output_is_a_mono_16_khz_16_bit_pcm_wav() {
        for voice in VOICES {
            let wav = spoken_code("123456", voice).expect("digits are accepted");
            let (spec, samples) = read(&wav);
            assert_eq!(spec.channels, 1);
            assert_eq!(spec.sample_rate, 16_000);
            assert_eq!(spec.bits_per_sample, 16);
            assert_eq!(spec.sample_format, hound::SampleFormat::Int);
            assert!(
                samples.iter().any(|&s| s != 0),
                "{voice:?} output is silent"
            );
        }
    }

    #[test]
    fn every_embedded_clip_has_the_output_format_and_is_short() {
        for voice in VOICES {
            for (digit, bytes) in voice.clip_files().iter().enumerate() {
                let (spec, samples) = read(bytes);
                assert_eq!(spec, CLIP_SPEC, "{}/{digit}.wav", voice.code());
                assert!(!samples.is_empty(), "{}/{digit}.wav is empty", voice.code());
                assert!(
                    samples.len() < samples_for(800),
                    "{}/{digit}.wav is longer than 0.8 s",
                    voice.code()
                );
            }
        }
    }

    #[test]
    fn duration_grows_with_the_number_of_digits() {
        for voice in VOICES {
            let lengths: Vec<usize> = ["1", "11", "111", "111111"]
                .iter()
                .map(|code| read(&spoken_code(code, voice).expect("digits")).1.len())
                .collect();
            assert!(
                lengths.windows(2).all(|pair| pair[0] < pair[1]),
                "{voice:?} lengths {lengths:?} do not grow"
            );
        }
    }

    #[test]
    fn output_is_longer_than_the_digit_clips_because_of_the_pauses() {
        let code = "123456";
        for voice in VOICES {
            let (_, samples) = read(&spoken_code(code, voice).expect("digits"));
            let spoken: usize = (1..=6).map(|digit| clip(voice, digit).len()).sum();
            // Two readings of six digits: edges at both ends, five digit pauses per reading,
            // and one longer pause before the repetition.
            let silence = 2 * samples_for(EDGE_SILENCE_MS)
                + 2 * 5 * samples_for(DIGIT_PAUSE_MS)
                + samples_for(REPEAT_PAUSE_MS);
            assert!(samples.len() > 2 * spoken);
            assert_eq!(samples.len(), 2 * spoken + silence);
        }
    }

    #[test]
    fn the_reading_starts_and_ends_with_silence() {
        let (_, samples) = read(&spoken_code("5", Voice::English).expect("digits"));
        let edge = samples_for(EDGE_SILENCE_MS);
        assert!(samples[..edge].iter().all(|&s| s == 0));
        assert!(samples[samples.len() - edge..].iter().all(|&s| s == 0));
    }

    #[test]
    fn a_code_with_a_letter_is_refused_with_the_offending_text() {
        match spoken_code("12a456", Voice::Danish) {
            Err(AudioError::NotDigits(text)) => assert_eq!(text, "12a456"),
            other => panic!("expected NotDigits, got {other:?}"),
        }
    }

    #[test]
    fn empty_codes_and_non_ascii_digits_are_refused() {
        for code in ["", "١٢٣٤٥٦", "123 456", "-12345", "+12345"] {
            assert!(
                matches!(spoken_code(code, Voice::English), Err(AudioError::NotDigits(ref t)) if t == code),
                "{code:?} was not refused"
            );
        }
    }

    #[test]
    fn danish_and_english_readings_differ() {
        let danish = spoken_code("123456", Voice::Danish).expect("digits");
        let english = spoken_code("123456", Voice::English).expect("digits");
        assert_ne!(read(&danish).1, read(&english).1);
    }

    #[test]
    fn the_reading_of_one_contains_clip_one_once_per_repetition() {
        for voice in VOICES {
            let (_, samples) = read(&spoken_code("1", voice).expect("digits"));
            let one = clip(voice, 1);
            assert_eq!(occurrences(&samples, &one).len(), READINGS, "{voice:?}");
            assert!(occurrences(&samples, &clip(voice, 2)).is_empty());
        }
    }

    #[test]
    fn digits_are_read_in_the_order_of_the_code() {
        let voice = Voice::Danish;
        let (_, samples) = read(&spoken_code("90", voice).expect("digits"));
        let nines = occurrences(&samples, &clip(voice, 9));
        let zeros = occurrences(&samples, &clip(voice, 0));
        assert_eq!(nines.len(), 2);
        assert_eq!(zeros.len(), 2);
        assert!(nines[0] < zeros[0] && zeros[0] < nines[1] && nines[1] < zeros[1]);
    }

    #[test]
    fn voices_round_trip_through_their_language_codes() {
        for voice in VOICES {
            assert_eq!(Voice::parse(voice.code()), Some(voice));
        }
        assert_eq!(Voice::parse("da"), Some(Voice::Danish));
        assert_eq!(Voice::parse("en"), Some(Voice::English));
        assert_eq!(Voice::parse("fr"), None);
        assert_eq!(Voice::parse("DA"), None);
    }
}
