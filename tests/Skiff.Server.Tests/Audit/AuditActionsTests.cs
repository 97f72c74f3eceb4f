using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Skiff.Server.Audit;
using Xunit;

namespace Skiff.Server.Tests.Audit;

/// <summary>Action names derived from route pattern, handler name and method, for endpoints that carry no audit code.</summary>
public sealed class AuditActionsTests
{
    [Theory]
    [InlineData("/tasks", nameof(SubmitAsync), "tasks.submit")]
    [InlineData("/tasks/{taskId}/cancel", nameof(CancelAsync), "tasks.cancel")]
    [InlineData("/dead-letter/{taskId}/redrive", nameof(RedriveAsync), "deadletter.redrive")]
    [InlineData("/users/{userId}/keys/{keyId}", nameof(RevokeKeyAsync), "users.keys.revoke")]
    [InlineData("/secrets/{name}", nameof(PutSecretAsync), "secrets.put")]
    [InlineData("/secrets/rotate-key", nameof(RotateKeyAsync), "secrets.rotatekey")]
    [InlineData("/users/{userId}/quotas", nameof(SetQuotasAsync), "users.quotas.set")]
    public void Derive_NamedHandler_ResourceFromLiteralsVerbFromTheHandlersFirstWord(string pattern, string handler, string expected)
    {
        var method = typeof(AuditActionsTests).GetMethod(handler, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

        Assert.Equal(expected, AuditActions.Derive(Route(pattern, method), "POST"));
    }

    [Theory]
    [InlineData("POST", "/users", "users.create")]
    [InlineData("PUT", "/secrets/{name}", "secrets.put")]
    [InlineData("PATCH", "/services/{name}", "services.update")]
    [InlineData("DELETE", "/secrets/{name}", "secrets.delete")]
    [InlineData("POST", "/services/{name}/restart", "services.restart")]
    [InlineData("POST", "/", "root.create")]
    public void Derive_LambdaHandler_VerbFromTheHttpMethodOrATrailingLiteral(string httpMethod, string pattern, string expected)
    {
        Func<int> lambda = () => 1;

        Assert.Equal(expected, AuditActions.Derive(Route(pattern, lambda.Method), httpMethod));
    }

    [Fact]
    public void Derive_ExplicitAuditAction_WinsOverTheDerivedName()
    {
        var method = typeof(AuditActionsTests).GetMethod(nameof(SubmitAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

        Assert.Equal("tasks.enqueue", AuditActions.Derive(Route("/tasks", method, new AuditActionMetadata("tasks.enqueue")), "POST"));
    }

    [Fact]
    public void For_NoEndpointOrNotARouteEndpoint_Unmatched()
    {
        var methodNotAllowed = new Endpoint(_ => Task.CompletedTask, EndpointMetadataCollection.Empty, "405 HTTP Method Not Supported");

        Assert.Equal(AuditActions.Unmatched, AuditActions.For(null, "POST"));
        Assert.Equal(AuditActions.Unmatched, AuditActions.For(methodNotAllowed, "DELETE"));
    }

    private static RouteEndpoint Route(string pattern, System.Reflection.MethodInfo handler, params object[] metadata) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, new EndpointMetadataCollection([handler, .. metadata]), pattern);

    private static Task SubmitAsync() => Task.CompletedTask;

    private static Task CancelAsync() => Task.CompletedTask;

    private static Task RedriveAsync() => Task.CompletedTask;

    private static Task RevokeKeyAsync() => Task.CompletedTask;

    private static Task PutSecretAsync() => Task.CompletedTask;

    private static Task RotateKeyAsync() => Task.CompletedTask;

    private static Task SetQuotasAsync() => Task.CompletedTask;
}
