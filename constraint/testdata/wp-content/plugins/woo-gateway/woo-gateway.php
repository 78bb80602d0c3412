<?php
/**
 * Plugin Name: Woo Gateway
 * Plugin URI: https://example.com/woo-gateway
 * Description: A payment gateway. Requires PHP: 5.6 is not a header here.
 * Version: 2.3.1
 * Requires at least: 6.2
 * Tested up to: 6.4
 * Requires PHP: 7.4
 * WC requires at least: 7.1
 * WC tested up to: 8.5
 * Text Domain: woo-gateway
 */

defined( 'ABSPATH' ) || exit;
