using QRCoder;

namespace PeerNet.Cli;

/// <summary>A link as a QR code drawn with half-block characters, two modules per line, for a phone to scan off the terminal.</summary>
internal static class TerminalQrCode
{
    /// <summary>The QR code of <paramref name="text"/> as lines of text (dark modules drawn, on a light quiet zone).</summary>
    public static string Render(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.L);
        using var code = new AsciiQRCode(data);
        // Inverted: terminals are mostly light text on dark, and a scanner needs dark modules on light.
        return code.GetGraphicSmall(drawQuietZones: true, invert: true);
    }
}
