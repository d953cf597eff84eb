using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PeerNet.Hub;
using PeerNet.Sharing;

namespace PeerNet.Tests.Hub;

/// <summary>POST/GET /api/pins: off without a store, bearer token, content id only, hostile bodies.</summary>
public sealed class HubPinsTests : IAsyncLifetime
{
    private const string Token = "a-test-token-of-enough-length";
    private readonly string _dataDir = Directory.CreateTempSubdirectory("peernet-pins-test").FullName;
    private HubServer _hub = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _hub = await HubServer.StartAsync(new HubOptions { Bind = "127.0.0.1", Port = 0, Http = true, DataDir = _dataDir, Turn = { Enabled = false } },
            configureLogging: l => l.SetMinimumLevel(LogLevel.Warning));
        _http = new HttpClient { BaseAddress = _hub.Url, Timeout = TimeSpan.FromSeconds(15) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private sealed class RecordingPins : IHubPinService
    {
        public List<ContentId> Pinned { get; } = [];

        public HubPinStatus Pin(ContentId contentId)
        {
            var isNew = !Pinned.Contains(contentId);
            if (isNew) Pinned.Add(contentId);
            return new HubPinStatus(contentId.ToString(), "pinning", 0, -1, isNew);
        }

        public IReadOnlyList<HubPinStatus> List() => Pinned.Select(id => new HubPinStatus(id.ToString(), "pinning", 0, -1)).ToArray();
    }

    private Task<HttpResponseMessage> PostAsync(string body, string? token = Token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/pins") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return _http.SendAsync(request);
    }

    private static async Task<string> CodeAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task Without_a_store_the_endpoint_says_so()
    {
        var cid = ContentId.FromBytes(new byte[32]).ToString();
        var response = await PostAsync($"{{\"cid\":\"{cid}\"}}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no-store", await CodeAsync(response));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/pins")).StatusCode);
    }

    [Fact]
    public async Task A_pin_needs_the_token_and_a_content_id_and_is_accepted_once()
    {
        var pins = new RecordingPins();
        _hub.Pins.Attach(pins, Token);
        var cid = ContentId.FromBytes(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var body = $"{{\"cid\":\"{cid}\"}}";

        foreach (var wrong in new string?[] { null, "", "wrong-token-of-enough-length", Token + "x", Token[..^1] })
        {
            var refused = await PostAsync(body, wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("unauthorized", await CodeAsync(refused));
            Assert.Contains("Bearer", refused.Headers.WwwAuthenticate.ToString());
        }
        Assert.Empty(pins.Pinned);

        var accepted = await PostAsync(body);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(body)).StatusCode); // already kept
        Assert.Equal([cid], pins.Pinned);

        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/pins");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var listed = JsonDocument.Parse(await (await _http.SendAsync(list)).Content.ReadAsStringAsync());
        Assert.Equal(cid.ToString(), listed.RootElement.GetProperty("pins")[0].GetProperty("contentId").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync("/api/pins")).StatusCode);
    }

    [Fact]
    public async Task Hostile_bodies_get_bad_request_and_pin_nothing()
    {
        var pins = new RecordingPins();
        _hub.Pins.Attach(pins, Token);
        var cid = ContentId.FromBytes(new byte[32]).ToString();
        var key = ContentKey.Generate();
        string[] bodies =
        [
            "",
            "{",
            "null",
            "[]",
            "\"" + cid + "\"",
            "{\"cid\":42}",
            "{\"link\":\"http://h/#/get/" + cid + "\"}",
            "{\"cid\":\"http://h/#/get/" + cid + "#k=" + key + "\"}", // a link, key and all: refused, not parsed for its CID
            "{\"cid\":\"" + cid[..^1] + "\"}",
            "{\"cid\":\"" + cid + "=\"}",
            "{\"cid\":\"" + new string('A', 5000) + "\"}",
            "{\"cid\":\"" + cid + "\"," + new string(' ', 2000) + "}",
        ];
        foreach (var body in bodies)
        {
            var response = await PostAsync(body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body[..Math.Min(body.Length, 80)]}: {response.StatusCode}");
            Assert.Equal("bad-request", await CodeAsync(response));
        }
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var bytes = Encoding.UTF8.GetBytes($"{{\"cid\":\"{cid}\"}}");
            bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/pins")
            {
                Content = new ByteArrayContent(bytes),
                Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) },
            });
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Accepted or HttpStatusCode.OK, $"mutation {i}: {response.StatusCode}");
        }
        Assert.True(pins.Pinned.Count <= 300);
        Assert.Equal("ok", await _http.GetStringAsync("/healthz"));
    }

    [Fact]
    public void Attach_refuses_a_short_token() =>
        Assert.Throws<ArgumentException>(() => _hub.Pins.Attach(new RecordingPins(), "short"));
}
