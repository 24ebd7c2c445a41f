# syntax=docker/dockerfile:1
# The per-host agent, millisampler-agent. Build from the repository root (BuildKit, the default since Docker 23):
#
#   docker build -f deploy/docker/agent.Dockerfile -t millisampler/agent:0.1.0 .
#
# The build stage runs on the target platform (no --platform=$BUILDPLATFORM): bpf/Makefile takes the kernel
# headers of `uname -m`, so a cross-compiled eBPF object would be built against the wrong arch's asm headers.
# agent.Dockerfile.dockerignore keeps host bin/, obj/ and bpf/out/ out of the context: a copied stale
# bpf/out/millisampler.bpf.o newer than its source would be embedded instead of a fresh one.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
# clang compiles bpf/*.bpf.c (the agent's build runs `make -C bpf`); libbpf-dev gives bpf/bpf_helpers.h,
# linux-libc-dev the uapi headers (linux/bpf.h, asm/types.h).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang make libbpf-dev linux-libc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Restore from the project files alone, so the package layer is reused while only code changes.
COPY global.json NuGet.config Directory.Build.props Directory.Packages.props ./
COPY src/Agent/Millisampler.Agent.csproj src/Agent/
COPY src/Analysis/Millisampler.Analysis.csproj src/Analysis/
COPY src/Contracts/Millisampler.Contracts.csproj src/Contracts/
COPY src/ServiceDefaults/Millisampler.ServiceDefaults.csproj src/ServiceDefaults/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Agent/Millisampler.Agent.csproj

COPY bpf/ bpf/
COPY src/Agent/ src/Agent/
COPY src/Analysis/ src/Analysis/
COPY src/Contracts/ src/Contracts/
COPY src/ServiceDefaults/ src/ServiceDefaults/
# Portable (no runtime identifier): the eBPF object is embedded in the assembly, nothing native is shipped.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Agent/Millisampler.Agent.csproj -c Release --no-restore -o /out -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}
# libbpf1: the agent P/Invokes the system libbpf.so.1 (1.1 or later; Ubuntu 24.04 ships 1.3).
# iproute2: `tc`, used only by the chart's clsact-cleanup init container (see deploy/helm/millisampler).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/ ./
# The aspnet image sets ASPNETCORE_HTTP_PORTS=8080; cleared, since the agent listens where Agent:Listen says (h2c, 7300),
# and ASP.NET Core would log a warning about overriding it.
ENV ASPNETCORE_HTTP_PORTS= \
    DOTNET_NOLOGO=1
# Runs as root on purpose: loading and attaching tc programs needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON, and
# Kubernetes gives capabilities to a non-root process only through file capabilities. The chart drops every
# other capability (docs/deploy.md).
EXPOSE 7300
ENTRYPOINT ["dotnet", "/app/millisampler-agent.dll"]
CMD ["serve"]
