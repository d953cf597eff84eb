using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace PeerNet.Integration.Tests.Sharing;

/// <summary>
/// The web app's sharing protocol v1 modules (src/PeerNet.Hub/wwwroot/js/sharing/, docs/sharing.md)
/// checked inside headless Chromium: known answers from an independent reference and the C#
/// implementation's vectors, Merkle proofs, tampering, keys and links, manifest rules, hostile
/// wire bytes, the session's protocol rules, swarm behaviour, and the OPFS store with resume.
/// The checks themselves are in sharing-tests.js; each returns its count and any failures.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SharingModuleTests(BrowserFixture browser, ITestOutputHelper output) : WebAppTestBase(browser, output)
{
    private async Task<IPage> PageAsync()
    {
        var page = await OpenAsync("page", new Uri(Hub.Url, SharingPage.BlankPath).ToString(), p => SharingPage.RouteAsync(p, Hub.Url));
        return page;
    }

    /// <summary>Runs a check and fails with its failures; returns its result.</summary>
    private async Task<JsonElement> CheckAsync(IPage page, string function, params object?[] args)
    {
        var result = await SharingPage.CallAsync(page, function, args);
        Output.WriteLine($"{function}: {result}");
        var failures = result.GetProperty("failures").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.True(failures.Count == 0, $"{function}: {failures.Count} failure(s):\n{string.Join('\n', failures)}");
        Assert.True(result.GetProperty("checks").GetInt32() > 0, $"{function} checked nothing");
        return result;
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_sealed_manifest_leaves_root_info_cid_and_link_match_an_independent_reference()
    {
        var page = await PageAsync();
        await CheckAsync(page, "knownAnswers");
    }

    /// <summary>
    /// The C# implementation's vectors (tests/PeerNet.Tests/Sharing/vectors.json), field by field:
    /// the browser's sealing, Merkle tree, info block, CID, links and manifest rules agree with it.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Csharp_test_vectors_match_field_by_field()
    {
        var path = Path.Combine(SharingPage.RepositoryRoot(), "tests", "PeerNet.Tests", "Sharing", "vectors.json");
        Assert.True(File.Exists(path), $"{path} is missing: the C# implementation's vectors are the contract both implementations are tested against");
        var page = await PageAsync();
        var result = await CheckAsync(page, "csharpVectorsText", File.ReadAllText(path));
        Assert.True(result.GetProperty("vectors").GetInt32() > 0, "no vectors in the file");
        Assert.True(result.GetProperty("manifestCases").GetInt32() > 0, "no manifest cases in the file");
        var notCompared = result.GetProperty("unchecked").EnumerateArray().Select(f => f.GetString()).ToList();
        Assert.True(notCompared.Count == 0, $"vectors.json fields nothing compared (teach csharpVectors in sharing-tests.js): {string.Join(", ", notCompared)}");
    }

    [Fact(Timeout = 60_000)]
    public async Task Merkle_proofs_for_1_to_70_pieces_verify_and_every_tampering_fails()
    {
        var page = await PageAsync();
        var result = await CheckAsync(page, "merkleProofs");
        Assert.Equal(2485, result.GetProperty("proofs").GetInt32()); // 1 + 2 + ... + 70
    }

    [Fact(Timeout = 60_000)]
    public async Task Tampered_proofs_leaves_ciphertexts_manifests_and_info_blocks_are_rejected()
    {
        var page = await PageAsync();
        await CheckAsync(page, "tampering");
    }

    [Fact(Timeout = 60_000)]
    public async Task Wrong_key_damaged_links_and_pin_links_give_typed_errors()
    {
        var page = await PageAsync();
        await CheckAsync(page, "keysAndLinks");
    }

    [Fact(Timeout = 60_000)]
    public async Task Manifest_rules_refuse_path_attacks_and_bad_values()
    {
        var page = await PageAsync();
        await CheckAsync(page, "manifestRules");
    }

    [Fact(Timeout = 60_000)]
    public async Task Piece_sizes_file_ranges_and_info_block_ranges()
    {
        var page = await PageAsync();
        await CheckAsync(page, "layoutAndInfo");
    }

    [Fact(Timeout = 120_000)]
    public async Task Hostile_wire_bytes_give_typed_errors_and_never_an_unhandled_exception()
    {
        var page = await PageAsync();
        var unhandled = new List<string>();
        page.PageError += (_, e) => unhandled.Add(e);
        var result = await CheckAsync(page, "hostileWire", 5000, 20251124);
        Output.WriteLine($"decoded {result.GetProperty("decoded")}, refused {result.GetProperty("refused")}, sessions closed {result.GetProperty("sessionsClosed")}");
        Assert.True(result.GetProperty("refused").GetInt32() > 1000);
        Assert.True(result.GetProperty("sessionsClosed").GetInt32() > 100);
        await Task.Delay(200);
        Assert.Empty(unhandled);
    }

    [Fact(Timeout = 60_000)]
    public async Task Session_enforces_the_protocol_order_and_limits()
    {
        var page = await PageAsync();
        await CheckAsync(page, "sessionRules");
    }

    [Fact(Timeout = 120_000)]
    public async Task Swarm_drops_corrupt_and_stalling_peers_cancels_endgame_duplicates_and_keeps_upload_slots()
    {
        var page = await PageAsync();
        await CheckAsync(page, "swarmBehaviour");
    }

    [Fact(Timeout = 60_000)]
    public async Task Streamer_answers_byte_ranges_as_pieces_arrive_and_steers_the_swarm_to_the_reader()
    {
        var page = await PageAsync();
        await CheckAsync(page, "streaming");
    }

    [Fact(Timeout = 60_000)]
    public async Task Pieces_waiting_for_a_slow_store_stay_few_and_the_download_is_intact()
    {
        var page = await PageAsync();
        await CheckAsync(page, "slowStore");
    }

    [Fact(Timeout = 60_000)]
    public async Task Room_offers_again_to_a_member_whose_connection_never_opened_until_it_leaves()
    {
        var page = await PageAsync();
        await CheckAsync(page, "roomRedial");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_cancelled_piece_asked_again_takes_either_answer_and_a_first_request_stays_strict()
    {
        var page = await PageAsync();
        await CheckAsync(page, "sessionReRequest");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_slow_but_working_peer_is_not_dropped_as_stalled()
    {
        var page = await PageAsync();
        await CheckAsync(page, "slowButWorkingPeer");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_peer_whose_hello_never_arrives_is_dropped_and_a_new_connection_completes()
    {
        var page = await PageAsync();
        await CheckAsync(page, "lostHello");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_message_before_the_channels_open_event_still_follows_connect()
    {
        var page = await PageAsync();
        await CheckAsync(page, "peerMessageBeforeOpen");
    }

    [Fact(Timeout = 60_000)]
    public async Task Store_keeps_recorded_pieces_across_a_reload_and_completes_the_files()
    {
        var page = await PageAsync();
        int[] stored = [0, 2, 4];
        var written = await SharingPage.CallAsync(page, "storeWrite", stored);
        Output.WriteLine($"stored {string.Join(',', stored)}: {written}");
        await page.ReloadAsync();
        await CheckAsync(page, "storeResume", written.GetProperty("cidText").GetString(), written.GetProperty("key").GetString(), stored);
    }

    [Fact(Timeout = 180_000)]
    public async Task Store_writes_1_GiB_through_OPFS_without_holding_it_in_memory()
    {
        var page = await PageAsync();
        var result = await CheckAsync(page, "storeLarge", 1024);
        var heap = result.GetProperty("heapMiB").GetInt32();
        Output.WriteLine($"JS heap after writing 1 GiB: {heap} MiB");
        Assert.InRange(heap, 0, 256);
    }
}
