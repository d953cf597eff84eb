using Microsoft.Extensions.Configuration;

namespace PeerNet.Hub;

/// <summary>
/// Reads <see cref="HubOptions"/> the usual .NET way: an optional JSON file (appsettings.json in
/// the working directory, or the one given), then environment variables prefixed <c>PEERNET_</c>
/// (<c>PEERNET_Port=9443</c>, <c>PEERNET_Signaling__MessagesPerSecond=100</c>). CLI flags go on top.
/// </summary>
public static class HubConfiguration
{
    public const string EnvironmentPrefix = "PEERNET_";

    public static HubOptions Load(string? configFile = null)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new HubConfigurationException($"the configuration file '{configFile}' does not exist");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        else
        {
            builder.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        var options = new HubOptions();
        try
        {
            builder.Build().Bind(options);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new HubConfigurationException($"invalid hub configuration: {e.Message}", e);
        }
        return options;
    }
}
