// The demo page. It holds no conversation state of its own: every line comes from
// the demo server (GET /demo/api/state, then the event stream), so a reload or a
// second tab shows the same conversations.
"use strict";

const TZ = "Asia/Shanghai";
const ROLE_LABEL = { resident: "居民", staff: "社区工作人员", party: "党员", hotline: "热线接线员", admin: "区级管理员" };
const CALL_LABEL = {
  custom: "客服消息", template: "模板消息", token: "获取 access_token", stable_token: "获取稳定版 access_token",
  user_info: "获取用户信息", menu_create: "创建自定义菜单", menu_get: "查询自定义菜单", qrcode: "生成带参数二维码",
  tag_create: "创建用户标签", tag_get: "获取用户标签", tagging: "为用户打标签", untagging: "为用户取消标签",
  tag_ids: "获取用户身上的标签", menu_addconditional: "创建个性化菜单", menu_delconditional: "删除个性化菜单",
  menu_trymatch: "测试个性化菜单匹配",
};
const PIN_SVG = `<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M12 2a7 7 0 0 0-7 7c0 5.25 7 13 7 13s7-7.75 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z"/></svg>`;
const GAP_MS = 5 * 60 * 1000; // a time divider after this much silence, as on a phone

const page = {
  panes: new Map(),      // id -> {pane, el, chat, lastTime, subscribed, busy}
  byOpenID: new Map(),   // openid -> pane id
  lastSeq: 0,
  offsetMs: 0,           // demo clock minus this browser's clock
  accountMenu: null,     // the menu the bot created, if any
  events: null,
  boot: "",              // the server run this page's state came from
  calls: 0,              // hotline calls simulated from this page
};

const $ = (sel, root = document) => root.querySelector(sel);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = {
  parts: new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, year: "numeric", month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }),
  hm: new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
  hms: new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }),
  day: new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "long", day: "numeric" }),
  ymd: new Intl.DateTimeFormat("en-CA", { timeZone: TZ }),
};
const demoNow = () => new Date(Date.now() + page.offsetMs);

// longTime is "2025年3月4日 周二 09:00:00", Beijing time.
function longTime(d) {
  const p = Object.fromEntries(fmt.parts.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}年${p.month}月${p.day}日 ${p.weekday} ${p.hour}:${p.minute}:${p.second}`;
}

function setClock(nowISO) {
  page.offsetMs = Date.parse(nowISO) - Date.now();
  tick();
}

function tick() {
  const now = demoNow();
  $("#clock").textContent = longTime(now);
  for (const p of page.panes.values()) $(".sb-time", p.el).textContent = fmt.hm.format(now);
}

function showClockOffset(offsetMs) {
  const h = offsetMs / 3600000;
  let text = "";
  if (offsetMs > 60000) {
    text = h >= 48 ? `已快进 ${(h / 24).toFixed(1)} 天` : h >= 1 ? `已快进 ${h.toFixed(1)} 小时` : `已快进 ${Math.round(offsetMs / 60000)} 分钟`;
  }
  $("#clock-offset").textContent = text;
}

function toast(text) {
  const t = el("div", "toast", text);
  document.body.append(t);
  setTimeout(() => t.remove(), 3500);
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  return { ok: r.ok, data };
}

// ---- panes ----

function buildPane(p) {
  const node = $("#phone-tpl").content.firstElementChild.cloneNode(true);
  node.id = "pane-" + p.id;
  node.dataset.pane = p.id;
  node.classList.add("role-" + p.role);
  $(".role", node).textContent = ROLE_LABEL[p.role] || p.role;
  $(".who", node).textContent = p.community ? `${p.name} · ${p.community}` : p.name;
  $(".openid", node).textContent = p.openid;
  const state = { pane: p, el: node, chat: $(".chat", node), lastTime: 0, subscribed: p.subscribed, voice: false };
  page.panes.set(p.id, state);
  page.byOpenID.set(p.openid, p.id);

  const input = $(".msg", node);
  $(".inputbar", node).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(p.id, state.voice ? { voice: text } : { text });
  });
  $(".voice-toggle", node).addEventListener("click", (ev) => {
    state.voice = !state.voice;
    ev.currentTarget.classList.toggle("on", state.voice);
    input.placeholder = state.voice ? "语音：输入识别出的文字" : "输入消息";
    input.focus();
  });
  const tray = $(".tray", node);
  $(".plus", node).addEventListener("click", () => { tray.hidden = !tray.hidden; });
  $(".tray-image", node).addEventListener("click", () => { tray.hidden = true; send(p.id, { image: true }); });
  $(".tray-location", node).addEventListener("click", () => {
    tray.hidden = true;
    send(p.id, { location: { lat: 33.6254, lon: 114.6497, label: "川汇区七一路社区民愿接待室" } });
  });
  $(".follow-btn", node).addEventListener("click", () => send(p.id, { event: "subscribe" }));
  $(".nav-more", node).addEventListener("click", () => {
    if (state.subscribed && confirm(`让「${p.name}」取消关注公众号？`)) send(p.id, { event: "unsubscribe" });
  });
  setFollowed(state, p.subscribed);
  renderMenu(state);
  return node;
}

function setFollowed(state, on) {
  state.subscribed = on;
  state.el.classList.toggle("unfollowed", !on);
}

function renderMenu(state) {
  const bar = $(".menubar", state.el);
  bar.replaceChildren();
  const buttons = (page.paneMenus && page.paneMenus[state.pane.id]) || page.accountMenu || state.pane.menu || [];
  for (const b of buttons.slice(0, 3)) {
    const item = el("div", "menu-item");
    const btn = el("button", b.sub && b.sub.length ? "has-sub" : "", b.name);
    btn.type = "button";
    btn.dataset.menu = b.name;
    item.append(btn);
    if (b.sub && b.sub.length) {
      const sub = el("div", "submenu");
      sub.hidden = true;
      for (const s of b.sub.slice(0, 5)) {
        const sb = el("button", "", s.name);
        sb.type = "button";
        sb.dataset.menu = s.name;
        sb.addEventListener("click", () => { sub.hidden = true; pressMenu(state.pane.id, s); });
        sub.append(sb);
      }
      item.append(sub);
      btn.addEventListener("click", () => {
        const open = sub.hidden;
        for (const other of document.querySelectorAll(".submenu")) other.hidden = true;
        sub.hidden = !open;
      });
    } else {
      btn.addEventListener("click", () => pressMenu(state.pane.id, b));
    }
    bar.append(item);
  }
}

function pressMenu(paneID, b) {
  if (b.key) send(paneID, { click: b.key, label: b.name });
  else if (b.url) send(paneID, { view: b.url, label: b.name });
  else if (b.text) send(paneID, { text: b.text });
}

document.addEventListener("click", (ev) => {
  if (!ev.target.closest(".menu-item")) for (const s of document.querySelectorAll(".submenu")) s.hidden = true;
});

async function send(paneID, action) {
  const state = page.panes.get(paneID);
  const typing = $(".typing", state.el);
  const sendBtn = $(".send", state.el);
  typing.hidden = false;
  sendBtn.disabled = true;
  try {
    const { ok, data } = await api("/demo/api/send", { pane: paneID, ...action });
    if (!ok && data.error) toast("发送失败：" + data.error);
  } catch (e) {
    toast("发送失败：演示服务器无响应");
  } finally {
    typing.hidden = true;
    sendBtn.disabled = false;
  }
  // The stream normally brought the reply already; if it is down, catch up.
  if (!page.events || page.events.readyState !== EventSource.OPEN) await catchUp();
}

// ---- conversation ----

function addEntry(e) {
  if (e.seq <= page.lastSeq) return;
  page.lastSeq = e.seq;
  const state = page.panes.get(e.pane);
  if (!state) return;
  const t = Date.parse(e.time);
  if (e.who === "user" && (e.kind === "subscribe" || e.kind === "unsubscribe")) setFollowed(state, e.kind === "subscribe");
  if (!state.lastTime || t - state.lastTime > GAP_MS) {
    const now = demoNow();
    const sameDay = fmt.ymd.format(now) === fmt.ymd.format(new Date(t));
    state.chat.append(el("div", "divider", (sameDay ? "" : fmt.day.format(new Date(t)) + " ") + fmt.hm.format(new Date(t))));
  }
  state.lastTime = Math.max(state.lastTime, t);
  const node = renderEntry(e, state);
  node.dataset.seq = e.seq;
  node.classList.add("entry", "who-" + e.who, "kind-" + e.kind);
  state.chat.append(node);
  state.chat.scrollTop = state.chat.scrollHeight;
}

function renderEntry(e, state) {
  const p = state.pane;
  if (e.who === "system") {
    const text = e.kind === "no_answer" ? "该公众号暂时无法提供服务，请稍后再试" : "消息发送失败（服务器拒绝了这条消息）";
    const n = el("div", "note bad", text);
    if (e.attempts > 1) n.title = `平台已尝试 ${e.attempts} 次`;
    return n;
  }
  if (e.who === "user") {
    switch (e.kind) {
      case "subscribe": return el("div", "note", "你已关注「民愿」");
      case "unsubscribe": return el("div", "note", "你已取消关注「民愿」");
      case "click": return el("div", "note", `点击了菜单「${e.text}」`);
      case "view": return el("div", "note", `打开了菜单链接「${e.text}」`);
    }
    let content;
    if (e.kind === "image") content = el("div", "image-ph", "[图片]");
    else if (e.kind === "location") {
      content = el("div", "loc");
      const map = el("div", "map");
      map.innerHTML = PIN_SVG;
      content.append(map, el("div", "label", e.text || "位置"));
    } else if (e.kind === "voice") {
      content = el("div", "bubble voice");
      content.append(el("span", "voice-mark", "语音"), e.text);
    } else content = el("div", "bubble", e.text);
    return row(true, (p.name || "我").slice(0, 1), [content]);
  }
  // The bot.
  const parts = [];
  if (e.kind === "custom") {
    parts.push(el("div", "tag custom", "客服消息"));
    if (e.msgtype === "image") parts.push(e.media ? picture(e.media) : el("div", "image-ph", "[图片]"));
    else if (e.msgtype === "voice") parts.push(el("div", "bubble voice", "[语音]"));
    else parts.push(el("div", "bubble", e.msgtype === "text" || !e.msgtype ? e.text : `[${e.msgtype}]`));
  } else if (e.kind === "template") {
    parts.push(el("div", "tag template", "模板消息"));
    parts.push(templateCard(e.template || { fields: [] }));
  } else {
    parts.push(el("div", "bubble", e.text));
  }
  if (e.attempts > 1) parts.push(el("div", "retry", `平台重发 ${e.attempts - 1} 次后才收到回复`));
  return row(false, "民", parts);
}

// picture shows an image message as the phone does: the picture itself.
function picture(src) {
  const img = el("img", "pic");
  img.alt = "[图片]";
  img.src = src;
  img.addEventListener("error", () => img.replaceWith(el("div", "image-ph", "[图片]")));
  return img;
}

function row(mine, avatarText, parts) {
  const r = el("div", "row" + (mine ? " mine" : ""));
  const body = el("div", "body");
  body.append(...parts);
  r.append(el("div", "avatar", avatarText), body);
  return r;
}

// templateCard shows a template message as the phone does since 2023: the template's
// title, then its labelled keyword fields in order (the server drops first and remark,
// colours and emoji; the card has no raw keys to show).
function templateCard(t) {
  const card = el("div", "card");
  card.append(el("div", "card-title", t.title || "模板消息"));
  const dl = el("dl");
  for (const f of t.fields || []) {
    if (f.label) dl.append(el("dt", "", f.label), el("dd", "", f.value));
    else dl.append(el("dd", "wide", f.value));
  }
  card.append(dl);
  if (t.url) card.append(el("div", "card-link", "详情 ›"));
  return card;
}

// ---- API call log ----

function addCall(c) {
  const tbody = $("#calls");
  const tr = el("tr");
  const paneID = page.byOpenID.get(c.openid);
  const who = paneID ? `${page.panes.get(paneID).pane.name}（${ROLE_LABEL[page.panes.get(paneID).pane.role]}）` : (c.openid || "—");
  let result, cls;
  if (c.status === 0) { result = "无应答（调用方已放弃）"; cls = "bad"; }
  else if (c.status !== 200) { result = `HTTP ${c.status}`; cls = "bad"; }
  else if (c.errcode) { result = `errcode ${c.errcode}`; cls = "bad"; }
  else { result = "成功"; cls = "ok"; }
  if (c.injected) result += "（注入的故障）";
  tr.append(el("td", "", fmt.hms.format(new Date(Date.parse(c.time)))), el("td", "", CALL_LABEL[c.kind] || c.path),
    el("td", "", who), el("td", cls, result));
  tbody.prepend(tr);
  while (tbody.children.length > 200) tbody.lastElementChild.remove();
  const count = $("#calls-count");
  count.textContent = String(Number(count.textContent) + 1);
}

// ---- start-up and the stream ----

function showHints(invites) {
  const box = $("#hints");
  box.replaceChildren();
  if (!invites || !invites.length) { box.hidden = true; return; }
  box.append("试一试：");
  invites.forEach((inv, i) => {
    if (i) box.append("；");
    const code = el("code", "", "绑定 " + inv.code);
    code.title = "点击填入居民窗口";
    code.addEventListener("click", () => {
      const input = $("#pane-resident .msg");
      if (input) { input.value = "绑定 " + inv.code; input.focus(); }
    });
    box.append("在居民窗口发送 ", code, `，即可成为${inv.community}的${ROLE_LABEL[inv.role] || inv.role}（演示邀请码，只能用一次）`);
  });
  box.hidden = false;
}

async function catchUp() {
  try {
    const { data } = await api("/demo/api/state");
    for (const e of data.entries || []) addEntry(e);
  } catch (e) { /* the connection banner says it */ }
}

function connect() {
  const es = new EventSource("/demo/api/events?since=" + page.lastSeq);
  page.events = es;
  es.addEventListener("open", () => { $("#conn").hidden = true; });
  // After a restart of the demo the stream comes back from another server, whose
  // conversations start afresh: load its state rather than show nothing new.
  es.addEventListener("hello", (ev) => {
    const { boot } = JSON.parse(ev.data);
    if (page.boot && boot && boot !== page.boot) {
      es.close();
      toast("演示服务器已重新启动，正在重新载入……");
      setTimeout(() => location.reload(), 300);
    }
  });
  es.addEventListener("error", () => { $("#conn").hidden = false; });
  es.addEventListener("entry", (ev) => addEntry(JSON.parse(ev.data)));
  es.addEventListener("call", (ev) => addCall(JSON.parse(ev.data)));
  es.addEventListener("clock", (ev) => {
    const c = JSON.parse(ev.data);
    setClock(c.now);
    showClockOffset(c.offset_ms);
  });
  es.addEventListener("menu", (ev) => {
    const m = JSON.parse(ev.data);
    page.accountMenu = m.menu;
    page.paneMenus = m.panes;
    for (const s of page.panes.values()) renderMenu(s);
  });
}

async function moveClock(body, btn) {
  for (const b of document.querySelectorAll(".clock-buttons button")) b.disabled = true;
  try {
    const { ok, data } = await api("/demo/api/clock", body);
    if (!ok) toast("无法调整时间：" + (data.error || "未知错误"));
    else {
      setClock(data.now); showClockOffset(data.offset_ms); toast(`演示时间已调到 ${longTime(demoNow())}`);
      // An invite may have expired on the demo clock: the server offers a fresh one.
      const st = await api("/demo/api/state");
      if (st.ok) showHints(st.data.invites);
    }
  } finally {
    for (const b of document.querySelectorAll(".clock-buttons button")) b.disabled = false;
  }
}

// ---- hotline panel ----

function setUpHotline(h) {
  const box = $("#hotline");
  box.hidden = false;
  $("#hotline-caller").value = h.caller || "";
  let callID = "";
  for (const b of box.querySelectorAll("button[data-call]")) {
    b.addEventListener("click", async () => {
      const event = b.dataset.call;
      if (event === "newCall" || !callID) callID = "demo-" + Date.now().toString(36) + "-" + (++page.calls);
      b.disabled = true;
      try {
        const { ok, data } = await api("/demo/api/hotline", {
          event, call_id: callID, from: $("#hotline-caller").value.trim(), summary: $("#hotline-summary").value.trim(),
        });
        const li = el("li", ok ? "" : "bad", `${fmt.hms.format(demoNow())} ${data.line || data.error || "失败"}`);
        $("#hotline-log").prepend(li);
      } catch (e) {
        toast("热线模拟失败：演示服务器无响应");
      } finally {
        b.disabled = false;
      }
    });
  }
}

async function main() {
  const { data } = await api("/demo/api/state");
  setClock(data.now);
  showClockOffset(data.offset_ms);
  page.accountMenu = data.menu;
  page.paneMenus = data.pane_menus;
  const phones = $("#phones");
  for (const p of data.panes) phones.append(buildPane(p));
  tick();
  for (const e of data.entries || []) addEntry(e);
  page.lastSeq = Math.max(page.lastSeq, data.seq || 0);
  for (const c of data.calls || []) addCall(c);
  showHints(data.invites);
  page.boot = data.boot || "";
  if (data.hotline) setUpHotline(data.hotline);
  if (data.mode === "safe") $("#mode-note").textContent += "（安全模式：AES 加密 + msg_signature）";
  for (const b of document.querySelectorAll(".clock-buttons button")) {
    b.addEventListener("click", () => moveClock(b.dataset.advance ? { advance: b.dataset.advance } : { tomorrow: b.dataset.tomorrow }, b));
  }
  setInterval(tick, 1000);
  connect();
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  toast("演示页面加载失败：" + e);
  console.error(e);
});
