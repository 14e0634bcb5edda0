package dev.berth.server.memory;

/**
 * A cleanup push to send: the session should free about {@code targetFreeMb}.
 *
 * @param reason the trigger that asks for it, for the worker's logs
 */
public record CleanupTarget(String sessionId, long targetFreeMb, String reason) {}
