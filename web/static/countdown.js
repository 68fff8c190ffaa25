// The TTL left, counting down in the page (without JavaScript it shows the TTL at the time of the lookup).
document.addEventListener("DOMContentLoaded", () => {
  const ttl = document.getElementById("ttl");
  if (!ttl) return;
  const end = performance.now() + parseFloat(ttl.dataset.ttl) * 1000;
  const format = new Intl.NumberFormat(document.documentElement.lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const tick = () => {
    const left = (end - performance.now()) / 1000;
    if (left <= 0) {
      ttl.textContent = ttl.dataset.expired;
      return;
    }
    ttl.textContent = `${format.format(left)} s`;
    setTimeout(tick, 100);
  };
  tick();
});
