using PeerNet.Stun;
using PeerNet.Stun.NatBehavior;

namespace PeerNet.Tests.Stun.NatBehavior;

public class NatBehaviorDiscoveryTests
{
    public static TheoryData<SimMapping, SimFiltering, NatMappingBehavior, NatFilteringBehavior> Behaviours => new()
    {
        { SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.EndpointIndependent },
        { SimMapping.EndpointIndependent, SimFiltering.AddressDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressDependent },
        { SimMapping.EndpointIndependent, SimFiltering.AddressAndPortDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent },
        { SimMapping.AddressDependent, SimFiltering.AddressDependent, NatMappingBehavior.AddressDependent, NatFilteringBehavior.AddressDependent },
        { SimMapping.AddressDependent, SimFiltering.AddressAndPortDependent, NatMappingBehavior.AddressDependent, NatFilteringBehavior.AddressAndPortDependent },
        { SimMapping.AddressAndPortDependent, SimFiltering.EndpointIndependent, NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.EndpointIndependent },
        { SimMapping.AddressAndPortDependent, SimFiltering.AddressAndPortDependent, NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent },
    };

    [Theory]
    [MemberData(nameof(Behaviours))]
    public void Tells_every_mapping_and_filtering_behaviour(SimMapping mapping, SimFiltering filtering, NatMappingBehavior expectedMapping, NatFilteringBehavior expectedFiltering)
    {
        foreach (ISimulatedStunServer server in new ISimulatedStunServer[] { new SimulatedStunServer(), new RealTurnServerCore() })
        {
            var sim = new NatBehaviorSimulation(mapping, filtering, server);
            var result = sim.Run(sim.Create());
            Assert.Equal(NatBehaviorStatus.Completed, result.Status);
            Assert.Equal(expectedMapping, result.Mapping);
            Assert.Equal(expectedFiltering, result.Filtering);
            Assert.True(result.IsBehindNat);
            Assert.Equal(NatBehaviorSimulation.PublicIP.WithPort(0), result.MappedAddress.WithPort(0));
            Assert.Equal(SimulatedStunServer.Alternate, result.OtherAddress);
            Assert.Equal(SimulatedStunServer.Primary, result.ResponseOrigin);
            Assert.Null(result.Note);
            // Bounded: filtering silence costs one test time (3 s), the rest is round trips.
            Assert.InRange(result.ElapsedMilliseconds, 0, 3_500);
        }
    }

    [Fact]
    public void Mapping_test_III_runs_only_when_test_II_sees_a_new_mapping()
    {
        var cone = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, new SimulatedStunServer());
        var result = cone.Run(cone.Create());
        Assert.DoesNotContain(cone.Events, e => e.Test == NatBehaviorTest.MappingAlternateAddressAndPort);
        Assert.Equal(result.MappedAddress, result.MappedAddressTestII);
        Assert.Equal(default, result.MappedAddressTestIII);
        // Test II of filtering answered: test III of filtering was abandoned, not waited for.
        Assert.Contains(cone.Events, e => e.Test == NatBehaviorTest.FilteringChangeAddressAndPort && e.Outcome == NatBehaviorTestOutcome.Answered);

        var symmetric = new NatBehaviorSimulation(SimMapping.AddressAndPortDependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer());
        result = symmetric.Run(symmetric.Create());
        Assert.NotEqual(result.MappedAddress, result.MappedAddressTestII);
        Assert.NotEqual(result.MappedAddressTestII, result.MappedAddressTestIII);
        Assert.Equal(
            [NatBehaviorTest.Primary, NatBehaviorTest.FilteringChangeAddressAndPort, NatBehaviorTest.FilteringChangePort, NatBehaviorTest.MappingAlternateAddress, NatBehaviorTest.MappingAlternateAddressAndPort],
            symmetric.Events.Select(e => e.Test).Order().ToArray());
    }

    [Fact]
    public void Filtering_tests_go_only_to_the_primary_address_before_any_mapping_test()
    {
        // A request to the alternate address would open an address-dependent filter to the answer of
        // the change-IP test: all filtering tests must end before the first mapping test starts.
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.AddressDependent, new SimulatedStunServer());
        sim.Run(sim.Create());
        var lastFiltering = sim.Events.FindLastIndex(e => e.Test is NatBehaviorTest.FilteringChangeAddressAndPort or NatBehaviorTest.FilteringChangePort);
        var firstMapping = sim.Events.FindIndex(e => e.Test is NatBehaviorTest.MappingAlternateAddress);
        Assert.True(lastFiltering < firstMapping);
    }

    [Theory]
    [InlineData(SimFiltering.EndpointIndependent, NatFilteringBehavior.EndpointIndependent)]
    [InlineData(SimFiltering.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent)]
    public void Without_a_NAT_the_mapping_tests_are_skipped(SimFiltering firewall, NatFilteringBehavior expected)
    {
        var sim = new NatBehaviorSimulation(SimMapping.None, firewall, new SimulatedStunServer());
        var result = sim.Run(sim.Create());
        Assert.Equal(NatBehaviorStatus.Completed, result.Status);
        Assert.False(result.IsBehindNat);
        Assert.Equal(sim.LocalAddress, result.MappedAddress);
        Assert.Equal(NatMappingBehavior.EndpointIndependent, result.Mapping);
        Assert.Equal(expected, result.Filtering);
        Assert.DoesNotContain(sim.Events, e => e.Test is NatBehaviorTest.MappingAlternateAddress or NatBehaviorTest.MappingAlternateAddressAndPort);
    }

    [Fact]
    public void Unknown_local_address_still_tells_a_NAT_by_its_port_or_leaves_it_open()
    {
        var sim = new NatBehaviorSimulation(SimMapping.AddressAndPortDependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer());
        var result = sim.Run(sim.Create(o => o.LocalAddress = SimulatedStunServer.Address("0.0.0.0:5000")));
        Assert.True(result.IsBehindNat); // port 5000 became 40000
        Assert.Equal(NatMappingBehavior.AddressAndPortDependent, result.Mapping);

        sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer());
        result = sim.Run(sim.Create(o => o.LocalAddress = default));
        Assert.Null(result.IsBehindNat);
        Assert.Equal(NatMappingBehavior.EndpointIndependent, result.Mapping);
    }

    [Theory]
    [InlineData(ServerQuirk.NoOtherAddress)]
    [InlineData(ServerQuirk.OtherAddressIsPrimary)]
    [InlineData(ServerQuirk.OtherAddressSameIP)]
    [InlineData(ServerQuirk.OtherAddressSamePort)]
    [InlineData(ServerQuirk.OtherAddressOtherFamily)]
    public void A_server_without_a_valid_other_address_is_not_supported_not_an_error(ServerQuirk quirk)
    {
        var server = new SimulatedStunServer(quirk);
        var sim = new NatBehaviorSimulation(SimMapping.AddressAndPortDependent, SimFiltering.AddressAndPortDependent, server);
        var result = sim.Run(sim.Create());
        Assert.Equal(NatBehaviorStatus.NotSupported, result.Status);
        Assert.Equal(NatMappingBehavior.NotSupported, result.Mapping);
        Assert.Equal(NatFilteringBehavior.NotSupported, result.Filtering);
        Assert.Equal(NatBehaviorSimulation.PublicIP.WithPort(40000), result.MappedAddress); // the public address is still known
        Assert.True(result.IsBehindNat);
        Assert.Equal(default, result.OtherAddress);
        Assert.NotNull(result.Note);
        Assert.Equal(1, server.Requests); // one Binding, nothing sent to a bogus alternate
        Assert.InRange(result.ElapsedMilliseconds, 0, 100);
    }

    [Fact]
    public void A_server_that_refuses_change_request_still_gets_the_mapping_tested()
    {
        var sim = new NatBehaviorSimulation(SimMapping.AddressAndPortDependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer(ServerQuirk.RejectsChangeRequest));
        var result = sim.Run(sim.Create());
        Assert.Equal(NatBehaviorStatus.Completed, result.Status);
        Assert.Equal(NatFilteringBehavior.NotSupported, result.Filtering);
        Assert.Equal(420, result.ErrorCode);
        Assert.Equal(NatMappingBehavior.AddressAndPortDependent, result.Mapping);
        Assert.Contains("CHANGE-REQUEST", result.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_ignores_change_request_leaves_filtering_unknown_instead_of_guessing()
    {
        // It answers the change requests from the primary address: a NAT with endpoint-independent
        // filtering would then look endpoint-independent for the wrong reason, so those answers are refused.
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer(ServerQuirk.IgnoresChangeRequest));
        var result = sim.Run(sim.Create());
        Assert.Equal(NatFilteringBehavior.Unknown, result.Filtering);
        Assert.Equal(NatMappingBehavior.EndpointIndependent, result.Mapping);
        Assert.Contains("unchanged address", result.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_alternate_leaves_mapping_unknown_within_the_test_time()
    {
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, new SimulatedStunServer(ServerQuirk.AlternateUnreachable));
        var result = sim.Run(sim.Create());
        Assert.Equal(NatBehaviorStatus.Completed, result.Status);
        Assert.Equal(NatMappingBehavior.Unknown, result.Mapping);
        Assert.Contains("alternate address", result.Note, StringComparison.Ordinal);
        Assert.InRange(result.ElapsedMilliseconds, 0, 2 * 3_000 + 200);
    }

    [Fact]
    public void An_error_response_to_the_first_Binding_ends_it_as_a_server_error()
    {
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, new SimulatedStunServer(ServerQuirk.ErrorForBinding));
        var result = sim.Run(sim.Create());
        Assert.Equal(NatBehaviorStatus.ServerError, result.Status);
        Assert.Equal(500, result.ErrorCode);
        Assert.Equal(NatMappingBehavior.Unknown, result.Mapping);
    }

    [Fact]
    public void A_silent_server_is_retransmitted_to_as_RFC_8489_says_then_no_response()
    {
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.EndpointIndependent, new SimulatedStunServer(ServerQuirk.Silent));
        var result = sim.Run(sim.Create(o =>
        {
            o.TestTimeout = TimeSpan.FromMilliseconds(39_500);
            o.TotalTimeout = TimeSpan.FromMinutes(1);
        }));
        Assert.Equal(NatBehaviorStatus.NoResponse, result.Status);
        // Rc = 7 transmissions at 0, RTO, 3 RTO, ... 63 RTO; then Rm = 16 RTO of waiting: 39.5 s in all.
        Assert.Equal(new long[] { 0, 500, 1_500, 3_500, 7_500, 15_500, 31_500 }, sim.TransmitTimes);
        Assert.Equal(39_500, result.ElapsedMilliseconds);
        Assert.Equal(default, result.MappedAddress);
    }

    [Fact]
    public void The_total_time_bounds_the_whole_run()
    {
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer(ServerQuirk.AlternateUnreachable));
        var result = sim.Run(sim.Create(o =>
        {
            o.TestTimeout = TimeSpan.FromSeconds(30);
            o.TotalTimeout = TimeSpan.FromSeconds(5);
        }));
        Assert.Equal(5_000, result.ElapsedMilliseconds);
        Assert.Equal(NatMappingBehavior.Unknown, result.Mapping);
        Assert.Equal(NatFilteringBehavior.Unknown, result.Filtering);
        Assert.Contains(sim.Events, e => e.Outcome == NatBehaviorTestOutcome.Abandoned);
    }

    [Fact]
    public void Mapping_only_when_filtering_is_not_asked_for()
    {
        var sim = new NatBehaviorSimulation(SimMapping.AddressDependent, SimFiltering.AddressAndPortDependent, new SimulatedStunServer());
        var result = sim.Run(sim.Create(o => o.DiscoverFiltering = false));
        Assert.Equal(NatMappingBehavior.AddressDependent, result.Mapping);
        Assert.Equal(NatFilteringBehavior.Unknown, result.Filtering);
        Assert.DoesNotContain(sim.Events, e => e.Test is NatBehaviorTest.FilteringChangePort or NatBehaviorTest.FilteringChangeAddressAndPort);
        Assert.InRange(result.ElapsedMilliseconds, 0, 200);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Duplicated_and_reordered_answers_change_nothing(int seed)
    {
        foreach (var (mapping, filtering, expectedMapping, expectedFiltering) in Behaviours.Select(row => ((SimMapping)row[0], (SimFiltering)row[1], (NatMappingBehavior)row[2], (NatFilteringBehavior)row[3])))
        {
            var sim = new NatBehaviorSimulation(mapping, filtering, new SimulatedStunServer(), seed) { Duplicate = 0.5, Jitter = 400 };
            var discovery = sim.Create();
            var result = sim.Run(discovery);
            Assert.Equal(expectedMapping, result.Mapping);
            Assert.Equal(expectedFiltering, result.Filtering);
        }
    }

    [Fact]
    public void Loss_is_retransmitted_through_and_never_yields_a_wrong_mapping()
    {
        var determined = 0;
        for (var seed = 0; seed < 200; seed++)
        {
            var symmetric = seed % 2 == 0;
            var sim = new NatBehaviorSimulation(symmetric ? SimMapping.AddressAndPortDependent : SimMapping.EndpointIndependent,
                SimFiltering.AddressAndPortDependent, new SimulatedStunServer(), seed) { Loss = 0.2, Jitter = 100 };
            var result = sim.Run(sim.Create(o => o.TestTimeout = TimeSpan.FromSeconds(8)), limit: 20_000);
            Assert.InRange(result.ElapsedMilliseconds, 0, 15_000);
            if (result.Status != NatBehaviorStatus.Completed)
            {
                Assert.Equal(NatBehaviorStatus.NoResponse, result.Status);
                continue;
            }

            // Loss can only hide an answer: a mapping is the right one or Unknown, never the wrong one.
            var expected = symmetric ? NatMappingBehavior.AddressAndPortDependent : NatMappingBehavior.EndpointIndependent;
            Assert.True(result.Mapping == expected || result.Mapping == NatMappingBehavior.Unknown, $"seed {seed}: {result.Mapping}");
            if (result.Mapping == expected)
            {
                determined++;
            }
        }

        Assert.True(determined >= 180, $"only {determined} of 200 runs told the mapping through 20 % loss");
    }

    [Fact]
    public void Start_twice_and_a_short_buffer_are_refused()
    {
        var discovery = new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions { Server = SimulatedStunServer.Primary });
        Assert.Null(discovery.PollTimeout());
        discovery.Start(0);
        Assert.Throws<InvalidOperationException>(() => discovery.Start(0));
        Assert.Throws<ArgumentException>(() => discovery.PollTransmit(new byte[10], out _));
        Assert.Throws<ArgumentException>(() => new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions()));
        Assert.Throws<ArgumentException>(() => new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions { Server = SimulatedStunServer.Primary, MaxTransmissions = 0 }));
        Assert.Throws<ArgumentException>(() => new NatBehaviorDiscovery(new NatBehaviorDiscoveryOptions { Server = SimulatedStunServer.Primary, TestTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public void Requests_are_Binding_requests_with_the_change_flags_and_a_fingerprint()
    {
        var sim = new NatBehaviorSimulation(SimMapping.EndpointIndependent, SimFiltering.AddressAndPortDependent, new RecordingServer());
        var server = (RecordingServer)sim.Server;
        sim.Run(sim.Create());
        Assert.Contains(server.Seen, r => r.Destination == SimulatedStunServer.Primary && r.Change == (true, true));
        Assert.Contains(server.Seen, r => r.Destination == SimulatedStunServer.Primary && r.Change == (false, true));
        Assert.All(server.Seen, r => Assert.True(r.Fingerprint));
        Assert.Contains(server.Seen, r => r.Destination == SimulatedStunServer.Address("192.0.2.2:3478") && r.Change is null);
    }

    private sealed class RecordingServer : ISimulatedStunServer
    {
        private readonly SimulatedStunServer _inner = new();

        public List<(StunAddress Destination, (bool, bool)? Change, bool Fingerprint)> Seen { get; } = [];

        public IEnumerable<(byte[] Response, StunAddress Source)> Handle(byte[] request, StunAddress local, StunAddress remote)
        {
            Assert.True(StunMessageReader.TryParse(request, out var reader, out _));
            Assert.Equal(StunMethod.Binding, reader.Method);
            Assert.Equal(StunClass.Request, reader.Class);
            Seen.Add((local, reader.TryGetChangeRequest(out var ip, out var port) ? (ip, port) : null, reader.HasFingerprint));
            return _inner.Handle(request, local, remote);
        }
    }
}
