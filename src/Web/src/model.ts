// The data every view reads: a capture (coordinator.proto's Capture in the protobuf JSON mapping) and each
// host's series placed on the capture's bins. Written by Millisampler.Analysis.Views.CaptureViewJson.

export interface HostView {
  host: string;
  linkSpeed: number; // bits/s; 0 = unknown (no utilization)
  binsCovered: number; // bins [0, binsCovered) hold data
  ingress: number[];
  egress?: number[];
  ce?: number[];
  retx?: number[];
  conn?: number[];
  crossRegion?: number[];
}

export interface CaptureView {
  capture: Capture;
  hosts: HostView[];
  source?: string;
}

// The subset of the protobuf JSON mapping the views read. 64-bit integers arrive as strings.
export interface Capture {
  captureId?: string;
  rack: string;
  state?: string;
  startTaiNs?: string;
  binWidthNs: string;
  bins: number;
  hosts?: HostOutcome[];
  analysis?: Analysis;
  requestedAtUnixNs?: string;
  completedAtUnixNs?: string;
  detail?: string;
  hostsCovered?: number;
  hostsRequested?: number;
  origin?: string;
  originName?: string;
  requestedBy?: string;
}

export interface HostOutcome {
  host: string;
  outcome: string;
  reason?: string;
  binsCovered?: number;
  clockErrorNs?: string;
  alignmentTrusted?: boolean;
  linkSpeedBitsPerSecond?: string;
  // The coordinator's own NTP-style measurement of the host's clock (agent minus coordinator), ± its bound.
  offsetMeasured?: boolean;
  measuredOffsetNs?: string;
  measuredOffsetBoundNs?: string;
  offsetExceedsHalfBin?: boolean;
}

export interface Burst {
  host: string;
  startBin: number;
  lengthBins: number;
  bytes: string;
  peakUtilization: number;
  ceBytes: string;
  retransmitBytes: string;
  peakConnections: number;
  maxContention: number;
  meanContention: number;
  crossRegionShare?: number;
}

export interface SyncEvent {
  startBin: number;
  lengthBins: number;
  hosts: string[];
  bytes: string;
  ceBytes: string;
  retransmitBytes: string;
  peakRackIngressBitsPerSecond: number;
  rackLinkCapacityBitsPerSecond: number;
  peakContention: number;
}

export interface Incident {
  startBin: number;
  lengthBins: number;
  events: number[];
  hosts: string[];
  bytes: string;
  ceBytes: string;
  retransmitBytes: string;
  peakContention: number;
}

export interface IngressStall {
  host: string;
  startBin: number;
  lengthBins: number;
  ingressBytesAround: number;
  egressBytes: string;
}

export interface ContentionLevel {
  level: number;
  bins: number;
  bursts: number;
  burstsWithCe: number;
  burstsWithRetransmits: number;
  ceFraction: number;
  retransmitFraction: number;
  longRttBursts?: number;
  longRttBurstsWithCe?: number;
  longRttBurstsWithRetransmits?: number;
  shortRttBursts?: number;
  shortRttBurstsWithCe?: number;
  shortRttBurstsWithRetransmits?: number;
  meanCrossRegionShare?: number;
}

export interface Analysis {
  burstThreshold: number;
  eventMinHosts: number;
  bursts?: Burst[];
  contention?: number[];
  contentionLevels?: ContentionLevel[];
  events?: SyncEvent[];
  untrustedAlignmentHosts?: string[];
  incidents?: Incident[];
  incidentGapBins?: number;
  ingressStalls?: IngressStall[];
}

export interface HostMember {
  host: string;
  address?: string;
  interfaces?: { name: string; linkSpeedBitsPerSecond?: string }[];
  clock?: { synchronized?: boolean; maxErrorNs?: string; estimatedErrorNs?: string };
  health?: string;
  lastSeenUnixNs?: string;
}

export interface Rack {
  rack: string;
  hosts?: HostMember[];
}
