using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace PeerNet.Stun;

/// <summary>
/// Prepares usernames, realms and passwords before they are hashed into keys — a pragmatic
/// SASLprep (RFC 4013, the stringprep profile RFC 5389 used and the RFC 5769 test vectors assume),
/// which for the common cases gives the same bytes as the OpaqueString profile (RFC 8265) that RFC
/// 8489 §9.2.2 names.
/// </summary>
/// <remarks>
/// <para>What it does, in order:</para>
/// <list type="number">
/// <item>Printable ASCII (U+0020–U+007E) is returned unchanged at once — the case for nearly all
/// real credentials, including the TURN REST ones.</item>
/// <item>Maps the "commonly mapped to nothing" characters (RFC 3454 table B.1: soft hyphen, zero-width
/// joiners, variation selectors...) to nothing, and non-ASCII spaces (table C.1.2) to U+0020.</item>
/// <item>Normalizes to NFKC with <see cref="string.Normalize(NormalizationForm)"/> when the runtime has
/// Unicode data. This repository builds with invariant globalization, where <c>Normalize</c> is a
/// no-op; then a built-in table applies the compatibility mappings that occur in practice:
/// fullwidth ASCII (U+FF01–U+FF5E), Roman numerals (U+2160–U+217F), superscript and subscript
/// digits, ª º ¹ ² ³ µ, the Latin ligatures U+FB00–U+FB06, ™ and the dot leaders. Other
/// compatibility characters and canonical composition are left as they are.</item>
/// <item>Rejects prohibited output (RFC 4013 §2.3): ASCII and non-ASCII control characters,
/// private-use code points, non-characters, lone surrogates, characters inappropriate for plain
/// text or canonical representation, directionality and tagging characters.</item>
/// </list>
/// <para>Not done: the bidirectional-text rule (RFC 3454 §6) and the unassigned-code-point check.
/// Where SASLprep (NFKC) and OpaqueString (NFC) differ — compatibility characters such as ª, which
/// OpaqueString keeps — this follows SASLprep, as the RFC 5769 vectors do.</para>
/// </remarks>
public static class SaslPrep
{
    private static readonly bool RuntimeNormalizes = ProbeNormalization();

    /// <summary>Prepares <paramref name="input"/>; false if it contains a prohibited character.</summary>
    public static bool TryPrepare(string input, [NotNullWhen(true)] out string? output)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (IsPrintableAscii(input))
        {
            output = input;
            return true;
        }

        var mapped = new StringBuilder(input.Length);
        foreach (var c in input)
        {
            if (IsMappedToNothing(c))
            {
                continue;
            }

            mapped.Append(IsNonAsciiSpace(c) ? ' ' : c);
        }

        var normalized = Normalize(mapped.ToString());
        for (var i = 0; i < normalized.Length; i++)
        {
            int codePoint = normalized[i];
            if (char.IsHighSurrogate(normalized[i]) && i + 1 < normalized.Length && char.IsLowSurrogate(normalized[i + 1]))
            {
                codePoint = char.ConvertToUtf32(normalized[i], normalized[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(normalized[i]))
            {
                output = null; // C.5: a lone surrogate
                return false;
            }

            if (IsProhibited(codePoint))
            {
                output = null;
                return false;
            }
        }

        output = normalized;
        return true;
    }

    /// <summary>Prepares <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">It contains a prohibited character.</exception>
    public static string Prepare(string input) =>
        TryPrepare(input, out var output) ? output : throw new ArgumentException("The string contains a character SASLprep prohibits.", nameof(input));

    private static bool IsPrintableAscii(string s)
    {
        foreach (var c in s)
        {
            if (c is < '\u0020' or > '\u007E')
            {
                return false;
            }
        }

        return true;
    }

    // RFC 3454 table B.1.
    private static bool IsMappedToNothing(char c) =>
        c is '\u00AD' or '\u034F' or '\u1806' or (>= '\u180B' and <= '\u180D') or (>= '\u200B' and <= '\u200D')
            or '\u2060' or (>= '\uFE00' and <= '\uFE0F') or '\uFEFF';

    // RFC 3454 table C.1.2.
    private static bool IsNonAsciiSpace(int c) =>
        c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    // RFC 4013 §2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.6, C.7, C.8, C.9 (C.5 is checked by the caller).
    private static bool IsProhibited(int c) =>
        IsNonAsciiSpace(c)
        || c < 0x20 || c == 0x7F
        || c is >= 0x80 and <= 0x9F
        || c is 0x06DD or 0x070F or 0x180E or 0x200C or 0x200D or 0x2028 or 0x2029 or 0xFEFF
        || c is >= 0x2060 and <= 0x2063
        || c is >= 0x206A and <= 0x206F
        || c is >= 0xFFF9 and <= 0xFFFD
        || c is >= 0x1D173 and <= 0x1D17A
        || c is >= 0xE000 and <= 0xF8FF
        || c is >= 0xF0000 and <= 0xFFFFD
        || c is >= 0x100000 and <= 0x10FFFD
        || c is >= 0xFDD0 and <= 0xFDEF
        || (c & 0xFFFE) == 0xFFFE
        || c is >= 0x2FF0 and <= 0x2FFB
        || c is 0x0340 or 0x0341 or 0x200E or 0x200F
        || c is >= 0x202A and <= 0x202E
        || c is 0xE0001 or (>= 0xE0020 and <= 0xE007F);

    private static string Normalize(string s)
    {
        if (RuntimeNormalizes)
        {
            return s.Normalize(NormalizationForm.FormKC);
        }

        StringBuilder? builder = null;
        for (var i = 0; i < s.Length; i++)
        {
            var replacement = CompatibilityMapping(s[i]);
            if (replacement is null)
            {
                builder?.Append(s[i]);
                continue;
            }

            builder ??= new StringBuilder(s.Length + 8).Append(s, 0, i);
            builder.Append(replacement);
        }

        return builder?.ToString() ?? s;
    }

    // NFKC of the compatibility characters that show up in real credentials (used only when the
    // runtime has no normalization data).
    private static string? CompatibilityMapping(char c) => c switch
    {
        >= '\uFF01' and <= '\uFF5E' => ((char)(c - 0xFEE0)).ToString(),
        '\u00AA' => "a",
        '\u00BA' => "o",
        '\u00B9' => "1",
        '\u00B2' => "2",
        '\u00B3' => "3",
        '\u00B5' => "\u03BC",
        '\u2070' => "0",
        '\u2071' => "i",
        >= '\u2074' and <= '\u2079' => ((char)('4' + (c - '\u2074'))).ToString(),
        '\u207F' => "n",
        >= '\u2080' and <= '\u2089' => ((char)('0' + (c - '\u2080'))).ToString(),
        >= '\u2160' and <= '\u216F' => RomanNumerals[c - '\u2160'],
        >= '\u2170' and <= '\u217F' => RomanNumerals[c - '\u2170'].ToLowerInvariant(),
        '\uFB00' => "ff",
        '\uFB01' => "fi",
        '\uFB02' => "fl",
        '\uFB03' => "ffi",
        '\uFB04' => "ffl",
        '\uFB05' or '\uFB06' => "st",
        '\u2122' => "TM",
        '\u2024' => ".",
        '\u2025' => "..",
        '\u2026' => "...",
        _ => null,
    };

    private static readonly string[] RomanNumerals =
        ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "L", "C", "D", "M"];

    private static bool ProbeNormalization()
    {
        try
        {
            return "\u2168".Normalize(NormalizationForm.FormKC) == "IX";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }
}
