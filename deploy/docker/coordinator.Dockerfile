# syntax=docker/dockerfile:1
# The rack coordinator, millisampler-coordinator, with the `millisampler` command line beside it (so
# `kubectl exec deploy/<fullname>-coordinator -- millisampler racks` works). Build from the repository root
# (BuildKit, the default since Docker 23):
#
#   docker build -f deploy/docker/coordinator.Dockerfile -t millisampler/coordinator:0.1.0 .
#
# Nothing here is architecture-specific (portable publish; SQLite's native library comes for every RID), so
# `--platform linux/amd64,linux/arm64` works, also with the build stage on $BUILDPLATFORM.

ARG DOTNET_VERSION=10.0

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src

# Restore from the project files alone, so the package layer is reused while only code changes.
COPY global.json NuGet.config Directory.Build.props Directory.Packages.props ./
COPY src/Coordinator/Millisampler.Coordinator.csproj src/Coordinator/
COPY src/Cli/Millisampler.Cli.csproj src/Cli/
COPY src/Analysis/Millisampler.Analysis.csproj src/Analysis/
COPY src/Contracts/Millisampler.Contracts.csproj src/Contracts/
COPY src/ServiceDefaults/Millisampler.ServiceDefaults.csproj src/ServiceDefaults/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Coordinator/Millisampler.Coordinator.csproj \
 && dotnet restore src/Cli/Millisampler.Cli.csproj

COPY src/Coordinator/ src/Coordinator/
COPY src/Cli/ src/Cli/
COPY src/Analysis/ src/Analysis/
COPY src/Contracts/ src/Contracts/
COPY src/ServiceDefaults/ src/ServiceDefaults/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Coordinator/Millisampler.Coordinator.csproj -c Release --no-restore -o /out/coordinator -p:UseAppHost=false \
 && dotnet publish src/Cli/Millisampler.Cli.csproj -c Release --no-restore -o /out/cli -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}
WORKDIR /app
COPY --from=build /out/coordinator/ ./
COPY --from=build /out/cli/ /opt/millisampler-cli/
RUN printf '#!/bin/sh\nexec dotnet /opt/millisampler-cli/millisampler.dll "$@"\n' > /usr/local/bin/millisampler \
 && chmod 0755 /usr/local/bin/millisampler \
 && mkdir -p /var/lib/millisampler/coordinator \
 && chown "$APP_UID" /var/lib/millisampler/coordinator
# The aspnet image sets ASPNETCORE_HTTP_PORTS=8080; cleared, since the coordinator listens on Coordinator:Endpoints (7400, 7401),
# and ASP.NET Core would log a warning about overriding it.
ENV ASPNETCORE_HTTP_PORTS= \
    DOTNET_NOLOGO=1 \
    Coordinator__Storage__DatabasePath=/var/lib/millisampler/coordinator/coordinator.db
# The image's unprivileged user `app` (uid 1654): the coordinator needs no privilege at all.
USER $APP_UID
VOLUME /var/lib/millisampler/coordinator
EXPOSE 7400 7401
ENTRYPOINT ["dotnet", "/app/millisampler-coordinator.dll"]
