// Counts the time a guided recording was actually heard (not skipped over) and, once it ends or
// most of it was heard, fills in those minutes for logging the practice: on the practice form
// directly, on the session page through the "Log this practice" link.
(function () {
  "use strict";
  function offer(audio, listened) {
    var minutes = Math.max(1, Math.round(listened / 60));
    var key = audio.dataset.practice;
    var minutesField = document.getElementById("minutes");
    if (minutesField) { minutesField.value = minutes; }
    var link = document.querySelector('a[data-log-for="' + key + '"]');
    if (link) {
      var url = new URL(link.href);
      url.searchParams.set("minutes", minutes);
      link.href = url.toString();
    }
    var note = document.querySelector('[data-listened-for="' + key + '"]');
    if (note) { note.textContent = note.dataset.text.replace("{n}", minutes); }
  }
  document.querySelectorAll("audio[data-practice]").forEach(function (audio) {
    var listened = 0, last = null, offered = false;
    audio.addEventListener("seeking", function () { last = null; });
    audio.addEventListener("timeupdate", function () {
      var now = audio.currentTime;
      if (last !== null && now > last && now - last < 2) { listened += now - last; }
      last = now;
      if (!offered && audio.duration && listened >= 0.8 * audio.duration) {
        offered = true;
        offer(audio, listened);
      }
    });
    audio.addEventListener("ended", function () {
      offered = true;
      offer(audio, listened);
    });
  });
  document.documentElement.dataset.recordingReady = "true";
})();
