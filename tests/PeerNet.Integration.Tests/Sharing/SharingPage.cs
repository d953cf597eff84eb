using System.Text.Json;
using Microsoft.Playwright;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// A page of the test hub for the sharing modules: <c>/test/blank.html</c> (a file input and
/// nothing else) and <c>/test/sharing-tests.js</c> are served by Playwright from the test's
/// output folder, on the hub's origin, so the page imports the hub's real
/// <c>/js/sharing/*.js</c> modules.
/// </summary>
internal static class SharingPage
{
    public const string BlankPath = "test/blank.html";

    private const string Blank = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>sharing tests</title><link rel="icon" href="data:,"></head>
        <body><input id="files" type="file" multiple></body></html>
        """;

    private static readonly string TestsScript = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Sharing", "sharing-tests.js"));

    /// <summary>Serves the test page and script under the hub's origin (call before the first GotoAsync).</summary>
    public static Task RouteAsync(IPage page, Uri hub) => page.RouteAsync(new Uri(hub, "test/**").ToString(), route =>
    {
        var path = new Uri(route.Request.Url).AbsolutePath;
        return path switch
        {
            "/test/blank.html" => route.FulfillAsync(new() { Status = 200, ContentType = "text/html; charset=utf-8", Body = Blank }),
            "/test/sharing-tests.js" => route.FulfillAsync(new() { Status = 200, ContentType = "text/javascript; charset=utf-8", Body = TestsScript }),
            _ => route.FulfillAsync(new() { Status = 404 }),
        };
    });

    /// <summary>Calls an export of sharing-tests.js in the page and returns its result.</summary>
    public static async Task<JsonElement> CallAsync(IPage page, string function, params object?[] args)
    {
        var result = await page.EvaluateAsync<JsonElement?>(
            "async ([fn, args]) => { const m = await import('/test/sharing-tests.js'); return await m[fn](...args); }",
            new object[] { function, args });
        return result ?? default;
    }

    /// <summary>The repository's root (where PeerNet.slnx is), found from the test's output folder.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PeerNet.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("PeerNet.slnx not found above " + AppContext.BaseDirectory);
    }
}
