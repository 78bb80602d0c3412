<?php
/**
 * @package Akismet
 */
/*
Plugin Name: Akismet Anti-spam: Spam Protection
Plugin URI: https://akismet.com/
Description: Used by millions, Akismet is quite possibly the best way in the world to protect your blog from spam.
Version: 5.3.1
Requires at least: 5.8
Requires PHP: 5.6.20
Author: Automattic - Anti-spam Team
License: GPLv2 or later
Text Domain: akismet
*/
