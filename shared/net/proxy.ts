import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';

/** The agent's proxy (Agent.ProxyUrl, credentials and bypass list), as a task hands it down. */
export interface ProxySettings {
  url: string;
  username?: string;
  password?: string;
  /** Regular expressions; a request URL matching one goes direct (the agent's own rule). */
  bypass: string[];
}

/**
 * The proxy URL (with credentials) for a request to `target`, or undefined when there is no proxy
 * or the target is in the bypass list. Matching is the agent's: each entry is a case-insensitive
 * regular expression tested against the whole request URL (task-lib getHttpProxyConfiguration).
 */
export function proxyUrlFor(target: string | URL, proxy?: ProxySettings): string | undefined {
  if (!proxy) return undefined;
  const url = String(target);
  if (proxy.bypass.some((b) => safeRegExp(b)?.test(url))) return undefined;
  const p = new URL(proxy.url);
  if (proxy.username) p.username = encodeURIComponent(proxy.username);
  if (proxy.password) p.password = encodeURIComponent(proxy.password);
  return p.toString();
}

/** A Node agent that goes through the proxy for this target (CONNECT for https), or undefined to go direct. */
export function proxyAgentFor(target: string | URL, proxy: ProxySettings | undefined, tls: AgentOptions = {}): HttpAgent | HttpsAgent | undefined {
  const via = proxyUrlFor(target, proxy);
  if (!via) return undefined;
  return new URL(String(target)).protocol === 'https:'
    ? new HttpsProxyAgent({ ...tls, proxy: via, keepAlive: true })
    : new HttpProxyAgent({ proxy: via, keepAlive: true });
}

/** The Azure SDKs' proxyOptions for a target, or undefined to go direct. */
export function azureProxyOptions(target: string | URL, proxy?: ProxySettings): { host: string; port: number; username?: string; password?: string } | undefined {
  if (!proxyUrlFor(target, proxy) || !proxy) return undefined;
  const p = new URL(proxy.url);
  return { host: `${p.protocol}//${p.hostname}`, port: Number(p.port || (p.protocol === 'https:' ? 443 : 80)), username: proxy.username, password: proxy.password };
}

/** azure-devops-node-api's (typed-rest-client's) proxy option. */
export function devOpsProxyOptions(proxy?: ProxySettings): { proxyUrl: string; proxyUsername?: string; proxyPassword?: string; proxyBypassHosts?: string[] } | undefined {
  return proxy && { proxyUrl: proxy.url, proxyUsername: proxy.username, proxyPassword: proxy.password, proxyBypassHosts: proxy.bypass };
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source, 'i');
  } catch {
    return undefined;
  }
}
